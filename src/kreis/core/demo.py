"""Demo data: users in every role, teams, notifications — German and English names.

Every later feature adds its own records here, so a new installation shows a living CRM.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from faker import Faker

from kreis.core import services
from kreis.core.models import Membership, Notification, Role, Team, User

SIZES = {
    "small": {"extra_users": 12, "extra_teams": 0},
    "large": {"extra_users": 200, "extra_teams": 16},
}

# The demo logins: one user per role, named after what they do.
PERSONAS = [
    ("admin", Role.ADMIN, "de_DE", "Geschäftsführung"),
    ("manager", Role.SALES_MANAGER, "de_DE", "Vertriebsleitung"),
    ("rep", Role.SALES_REP, "de_DE", "Außendienst"),
    ("service", Role.SERVICE_AGENT, "en_US", "Customer Service"),
    ("marketing", Role.MARKETING, "en_US", "Marketing Manager"),
    ("readonly", Role.READ_ONLY, "en_US", "Controller"),
]
TEAMS = [
    ("Vertrieb Nord", "Hamburg, Bremen, Schleswig-Holstein, Niedersachsen"),
    ("Vertrieb Süd", "Bayern und Baden-Württemberg"),
    ("Key Accounts", "Strategic customers across DACH"),
    ("Customer Service", "First- and second-level support"),
]
JOB_TITLES = {
    "de_DE": [
        "Vertriebsmitarbeiterin",
        "Vertriebsmitarbeiter",
        "Kundenberater",
        "Key-Account-Managerin",
        "Innendienst",
        "Servicetechniker",
        "Marketingreferentin",
    ],
    "en_US": [
        "Account Executive",
        "Sales Development Rep",
        "Customer Success Manager",
        "Support Engineer",
        "Marketing Specialist",
        "Inside Sales",
    ],
}


@dataclass
class DemoResult:
    password: str
    users: int
    teams: int
    extra: dict[str, int] = field(default_factory=dict)


@dataclass
class DemoContext:
    """What each app's demo step gets: the size, a seeded Faker, the users and teams made."""

    size: str
    fake: Faker
    users: list[User]
    teams: list[Team]
    progress: Callable[[str, int, int], None] | None = None


# Apps register their demo steps here (in AppConfig.ready), so core imports no domain app.
DEMO_STEPS: list[Callable[[DemoContext], dict[str, int]]] = []
DEMO_STEP_ORDER: dict[Callable, int] = {}


def register_demo_step(step: Callable[[DemoContext], dict[str, int]], order: int = 100) -> None:
    """Steps run by ``order`` (lower first), equal orders in registration order."""
    if step not in DEMO_STEPS:
        DEMO_STEP_ORDER[step] = order
        DEMO_STEPS.append(step)
        DEMO_STEPS.sort(key=DEMO_STEP_ORDER.__getitem__)


def demo_password_path():
    return settings.DATA_DIR / "demo-logins.txt"


def _person(fake: Faker, locale: str) -> dict:
    gen = fake[locale]
    first, last = gen.first_name(), gen.last_name()
    return {
        "first_name": first,
        "last_name": last,
        "phone": gen.phone_number(),
        "job_title": gen.random_element(JOB_TITLES[locale]),
        "language": "de" if locale == "de_DE" else "en",
    }


def _email(first: str, last: str, taken: set[str]) -> str:
    base = f"{first}.{last}".lower()
    for umlaut, plain in {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", " ": "-", "'": ""}.items():
        base = base.replace(umlaut, plain)
    base = base.encode("ascii", "ignore").decode()
    email, n = f"{base}@kreis-demo.example", 1
    while email in taken:
        n += 1
        email = f"{base}{n}@kreis-demo.example"
    taken.add(email)
    return email


@transaction.atomic
def create_demo(*, size: str = "small", seed: int | None = None, progress=None) -> DemoResult:
    """Create the demo users and teams in one transaction; returns the shared demo password."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}")
    if User.objects.filter(username__in=[p[0] for p in PERSONAS]).exists():
        raise ValueError("demo data is already present (user 'admin' exists)")
    fake = Faker(["de_DE", "en_US"])
    Faker.seed(seed if seed is not None else secrets.randbits(32))
    password = "-".join(secrets.token_hex(2) for _ in range(4))
    taken: set[str] = set()
    spec = SIZES[size]

    teams = [services.team_create(actor=None, name=n, description=d) for n, d in TEAMS]
    for i in range(spec["extra_teams"]):
        city = fake["de_DE"].unique.city() if i % 2 == 0 else fake["en_US"].unique.city()
        teams.append(services.team_create(actor=None, name=f"Sales {city}", description=""))

    personas = {}
    for username, role, locale, title in PERSONAS:
        person = _person(fake, locale) | {"job_title": title}
        personas[username] = services.user_create(
            actor=None,
            username=username,
            password=None,
            role=role,
            email=_email(person["first_name"], person["last_name"], taken),
            **person,
        )
        personas[username].set_password(password)
        personas[username].save(update_fields=["password"])
    north, south, key_accounts, service_team = teams[:4]
    memberships = [
        Membership(team=north, user=personas["manager"], is_manager=True),
        Membership(team=south, user=personas["manager"], is_manager=True),
        Membership(team=north, user=personas["rep"]),
        Membership(team=service_team, user=personas["service"]),
        Membership(team=key_accounts, user=personas["marketing"]),
        Membership(team=north, user=personas["readonly"]),
    ]
    roles = [Role.SALES_REP] * 6 + [Role.SERVICE_AGENT, Role.MARKETING, Role.SALES_MANAGER]
    extra = []
    for i in range(spec["extra_users"]):
        locale = "de_DE" if i % 3 else "en_US"
        person = _person(fake, locale)
        user = User(
            username=f"{person['first_name']}.{person['last_name']}".lower().replace(" ", "")[:140]
            + f"{i}",
            email=_email(person["first_name"], person["last_name"], taken),
            role=roles[i % len(roles)],
            **person,
        )
        user.set_unusable_password()
        extra.append(user)
        if progress:
            progress("users", i + 1, spec["extra_users"])
    User.objects.bulk_create(extra, batch_size=500)
    for i, user in enumerate(User.objects.filter(username__in=[u.username for u in extra])):
        team = teams[i % len(teams)]
        memberships.append(
            Membership(team=team, user=user, is_manager=user.role == Role.SALES_MANAGER)
        )
    Membership.objects.bulk_create(memberships, batch_size=500, ignore_conflicts=True)

    welcome = [
        ("Willkommen bei Kreis", "Dies sind Demodaten. Jede Funktion bringt eigene Beispiele mit.")
        if p.language == "de"
        else ("Welcome to Kreis", "This is demo data. Every feature brings its own examples.")
        for p in personas.values()
    ]
    Notification.objects.bulk_create(
        Notification(user=p, title=t, body=b, level=Notification.Level.SUCCESS)
        for p, (t, b) in zip(personas.values(), welcome, strict=True)
    )
    Notification.objects.create(
        user=personas["admin"],
        title="Zwei-Faktor-Anmeldung einrichten",
        body="Schützen Sie das Administratorkonto mit einer Authenticator-App.",
        url="/accounts/2fa/",
        level=Notification.Level.WARNING,
    )
    context = DemoContext(
        size=size,
        fake=fake,
        users=list(User.objects.filter(is_active=True)),
        teams=teams,
        progress=progress,
    )
    counts: dict[str, int] = {}
    for step in DEMO_STEPS:
        counts.update(step(context))
    # Demo steps insert in bulk, past the services: build the search index once at the end.
    from kreis.core.search import reindex

    counts["search_entries"] = reindex(
        progress=(lambda entity, n: progress("search", n, 0)) if progress else None
    )
    # Bulk inserts leave the planner without statistics: gather them now.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    _write_logins(password)
    return DemoResult(
        password=password, users=len(personas) + len(extra), teams=len(teams), extra=counts
    )


def _write_logins(password: str) -> None:
    import os

    path = demo_password_path()
    lines = [f"{username:<10} {password}   ({role.label})" for username, role, *_ in PERSONAS]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


def demo_logins() -> str | None:
    path = demo_password_path()
    if not path.exists() or not User.objects.filter(username="admin").exists():
        return None
    return path.read_text(encoding="utf-8")
