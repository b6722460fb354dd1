"""The public complaint form: a customer files a complaint without signing in, on Kreis or
embedded on the company's website; spam is kept out by honeypot, time trap and rate limit."""

import json
import time

import pytest
from django.contrib.admin.sites import site as admin_site
from django.core import mail
from django.test import Client

from kreis.parties.models import Party
from kreis.parties.services import party_create
from kreis.service.models import Case, ServiceSettings
from kreis.service.public_form import guard
from kreis.service.public_form.forms import ServiceSettingsAdminForm
from tests.conftest import client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _settings(**values) -> ServiceSettings:
    config = ServiceSettings.load()
    for name, value in values.items():
        setattr(config, name, value)
    config.save()
    return config


def _data(**overrides) -> dict:
    """What a person sends after filling the form for a minute."""
    data = {
        "stamp": guard.new_stamp(at=time.time() - 60),
        "lang": "en",
        "website": "",
        "name": "Jana Weber",
        "email": "jana.weber@example.org",
        "phone": "",
        "reference": "A-4711",
        "category": "",
        "product": "",
        "subject": "Pump leaks",
        "description": "The pump leaks since Monday.",
    }
    data.update(overrides)
    return data


@pytest.fixture
def form_ready(sam, defect):
    """A service agent to own the cases (round-robin) and the default categories."""
    return sam


def test_complaint_becomes_a_case_with_owner_due_date_and_acknowledgement(
    form_ready, defect, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post("/complaint/", _data(category=str(defect.pk)))
    assert response.status_code == 200
    case = Case.objects.get()
    assert case.channel == "form"
    assert case.owner == form_ready
    assert case.ack_due_at is not None
    assert case.resolve_due_at is not None
    assert case.category == defect
    assert case.language == "en"
    assert "A-4711" in case.description
    assert "The pump leaks since Monday." in case.description
    assert case.number in response.text
    assert "jana.weber@example.org" in response.text  # "we have sent a confirmation to …"
    assert [m.to for m in mail.outbox] == [["jana.weber@example.org"]]
    assert case.number in mail.outbox[0].body
    # an unknown sender becomes a new person, a customer
    assert case.party.name == "Jana Weber"
    assert case.party.kind == "person"


def test_known_customer_is_linked_by_email_and_no_duplicate_is_made(form_ready, alice):
    known = party_create(
        actor=alice,
        kind="person",
        first_name="Jana",
        last_name="Weber",
        emails=[{"value": "Jana.Weber@example.org"}],
    )
    before = Party.objects.count()
    response = Client().post("/complaint/", _data(name="J. Weber"))
    assert response.status_code == 200
    assert Case.objects.get().party == known
    assert Party.objects.count() == before


def test_known_customer_is_linked_by_phone(form_ready, alice):
    known = party_create(
        actor=alice,
        kind="person",
        first_name="Jana",
        last_name="Weber",
        phones=[{"value": "+49 40 555 0199"}],
    )
    Client().post("/complaint/", _data(email="new-address@example.org", phone="040 5550199"))
    assert Case.objects.get().party == known


def test_no_category_chosen_takes_the_configured_one(form_ready, billing):
    _settings(form_category=billing)
    Client().post("/complaint/", _data())
    assert Case.objects.get().category == billing


def test_a_product_named_exactly_is_linked(form_ready):
    from kreis.commerce.models import Product

    pump = Product.objects.create(sku="WP-200", name="Wärmepumpe 200", list_price=4999)
    Client().post("/complaint/", _data(product="wp-200"))
    case = Case.objects.get()
    assert case.product == pump
    assert "wp-200" in case.description


def test_filled_honeypot_seems_to_succeed_but_creates_nothing(form_ready):
    response = Client().post("/complaint/", _data(website="https://spam.example"))
    assert response.status_code == 200
    assert "Thank you" in response.text
    assert not Case.objects.exists()
    assert not mail.outbox


def test_too_fast_submission_is_refused_with_the_input_kept(form_ready):
    _settings(form_min_seconds=5)
    stamp = guard.new_stamp()
    response = Client().post("/complaint/", _data(stamp=stamp))
    assert response.status_code == 422
    assert "That was very fast" in response.text
    assert 'value="Jana Weber"' in response.text
    assert "The pump leaks since Monday." in response.text
    assert not Case.objects.exists()
    # the same stamp (kept in the form) is good once the minimum time has passed
    assert f'value="{stamp}"' in response.text
    later = guard.check_stamp(stamp, min_seconds=5, now=time.time() + 6)
    assert later == guard.Stamp.OK


@pytest.mark.parametrize(
    "stamp",
    ["", "garbage", "abc:1:forged", "TAMPERED"],
    ids=["missing", "garbage", "forged", "tampered"],
)
def test_missing_or_tampered_stamp_is_refused(form_ready, stamp):
    if stamp == "TAMPERED":
        genuine = guard.new_stamp(at=time.time() - 60)
        nonce, issued, signature = genuine.split(":")
        stamp = f"{nonce}:{issued[:-1]}{'1' if issued[-1] != '1' else '2'}:{signature}"
    response = Client().post("/complaint/", _data(stamp=stamp))
    assert response.status_code == 422
    assert "could not be checked" in response.text
    assert 'value="Jana Weber"' in response.text
    assert not Case.objects.exists()


def test_stamp_of_another_signer_is_refused():
    from django.core import signing

    other = signing.TimestampSigner(salt="somewhere.else").sign("x")
    assert guard.check_stamp(other, min_seconds=0) == guard.Stamp.INVALID
    assert guard.check_stamp(guard.new_stamp(at=time.time() - 2 * 86400), min_seconds=0) == (
        guard.Stamp.EXPIRED
    )


def test_one_stamp_makes_one_case_even_when_sent_twice(form_ready):
    data = _data()
    first = Client().post("/complaint/", data)
    second = Client().post("/complaint/", data)
    case = Case.objects.get()
    assert first.status_code == second.status_code == 200
    assert case.number in second.text


def test_rate_limit_answers_429_with_retry_after(form_ready):
    _settings(form_posts_per_hour=2)
    client = Client()
    for _ in range(2):
        assert client.post("/complaint/", _data()).status_code == 200
    response = client.post("/complaint/", _data())
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 3600
    assert "Too many submissions" in response.text
    assert Case.objects.count() == 2
    german = client.post("/complaint/?lang=de", _data(lang="de"))
    assert german.status_code == 429
    assert "Zu viele" in german.text


def test_invalid_input_shows_the_form_again_with_errors_and_input(form_ready):
    response = Client().post(
        "/complaint/", _data(email="jana.weber@", subject="", phone="12", website="")
    )
    assert response.status_code == 422
    text = response.text
    assert 'value="jana.weber@"' in text
    assert 'value="A-4711"' in text
    assert "Enter a valid email address." in text
    assert 'id="id_email_error"' in text
    assert 'aria-invalid="true"' in text
    assert "This does not look like a phone number" in text
    assert "This field is required." in text
    assert "autofocus" in text.split('name="email"')[1].split(">")[0]  # first error field
    assert not Case.objects.exists()


def test_errors_in_german(form_ready):
    response = Client().post("/complaint/?lang=de", _data(lang="de", email="kaputt"))
    assert response.status_code == 422
    assert "Bitte korrigieren Sie die markierten Felder" in response.text
    assert "Bitte gültige E-Mail-Adresse eingeben." in response.text


def test_german_page_by_parameter_and_by_browser(form_ready, defect):
    by_parameter = Client().get("/complaint/?lang=de")
    assert by_parameter.status_code == 200
    assert "Beschwerde einreichen" in by_parameter.text
    assert defect.name_de in by_parameter.text  # the categories in German
    assert 'href="?lang=en"' in by_parameter.text  # the switch to English
    by_browser = Client(headers={"accept-language": "de-DE,de;q=0.9"}).get("/complaint/")
    assert 'lang="de"' in by_browser.text
    assert "Beschwerde einreichen" in by_browser.text
    english = Client(headers={"accept-language": "de"}).get("/complaint/?lang=en")
    assert "File a complaint" in english.text
    assert defect.name_en in english.text


def test_a_german_complaint_is_a_german_case(form_ready):
    Client().post("/complaint/?lang=de", _data(lang="de"))
    assert Case.objects.get().language == "de"


def test_form_page_is_keyboard_and_autofill_friendly(form_ready):
    text = Client().get("/complaint/").text
    assert 'autocomplete="name"' in text
    assert 'autocomplete="email"' in text
    assert 'autocomplete="tel"' in text
    assert 'type="tel"' in text
    assert '<label class="form-label" for="id_name">' in text
    assert "autofocus" in text.split('name="name"')[1].split(">")[0]
    honeypot = text.split('name="website"')[1].split(">")[0]
    assert 'tabindex="-1"' in honeypot


def test_own_page_may_not_be_framed(form_ready):
    response = Client().get("/complaint/")
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_embed_without_configured_websites_only_on_kreis_itself(form_ready):
    response = Client().get("/complaint/embed/")
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in response["Content-Security-Policy"]
    assert "complaint-header" not in response.text  # no page chrome


def test_embed_may_be_framed_by_the_configured_websites_only(form_ready):
    _settings(
        form_allowed_origins="https://www.shop.example\nhttp://localhost:8200/\n"
        "https://evil.example; script-src *"
    )
    for url in ("/complaint/embed/", "/complaint/?embed=1"):
        response = Client().get(url)
        assert "X-Frame-Options" not in response
        policy = response["Content-Security-Policy"]
        directives = {part.strip().split(" ", 1)[0]: part.strip() for part in policy.split(";")}
        assert directives["frame-ancestors"] == (
            "frame-ancestors 'self' https://www.shop.example http://localhost:8200"
        )
        assert "evil" not in policy
    own = Client().get("/complaint/")
    assert own["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in own["Content-Security-Policy"]


def test_frame_reports_its_height_only_to_an_allowed_parent(form_ready):
    _settings(form_allowed_origins="https://www.shop.example")
    allowed = Client().get("/complaint/embed/?parent=https://www.shop.example")
    assert 'data-parent-origin="https://www.shop.example"' in allowed.text
    assert "parent=https%3A%2F%2Fwww.shop.example" in allowed.text  # kept by the switch link
    other = Client().get("/complaint/embed/?parent=https://evil.example")
    assert "data-parent-origin" not in other.text


def test_embedded_form_is_sent_and_thanks_in_the_frame(form_ready):
    _settings(form_allowed_origins="https://www.shop.example")
    url = "/complaint/embed/?lang=de&parent=https://www.shop.example"
    response = Client().post(url, _data(lang="de"))
    assert response.status_code == 200
    assert "Vielen Dank" in response.text
    assert "X-Frame-Options" not in response
    assert "https://www.shop.example" in response["Content-Security-Policy"]
    assert Case.objects.get().number in response.text


def test_form_works_without_csrf_cookie_as_in_a_cross_site_frame(form_ready):
    """A third-party iframe's POST carries no Kreis cookie: the CSRF token check is off for
    this view (see its docstring), and the case is created."""
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/complaint/embed/", _data(), headers={"origin": "https://www.shop.example"}
    )
    assert response.status_code == 200
    assert Case.objects.count() == 1
    assert "csrftoken" not in response.cookies  # the public page sets no cookie
    assert "sessionid" not in response.cookies


def test_signed_in_staff_submitting_the_form_acts_as_a_visitor(form_ready, alice):
    client_for(alice).post("/complaint/", _data())
    case = Case.objects.get()
    transition = case.transitions.get()
    assert transition.actor is None
    assert case.owner == form_ready  # assignment as for every visitor, not alice


def test_visitor_get_writes_nothing(db):
    assert Client().get("/complaint/").status_code == 200
    assert not ServiceSettings.objects.exists()


def test_switched_off_form_is_not_available(form_ready):
    _settings(form_enabled=False)
    response = Client().get("/complaint/?lang=de")
    assert response.status_code == 404
    assert "nicht verfügbar" in response.text
    assert Client().post("/complaint/", _data()).status_code == 404
    assert not Case.objects.exists()


def test_embed_script_inserts_the_frame_and_checks_message_origin(db):
    response = Client().get("/complaint/embed.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    body = response.content.decode()
    assert "/complaint/embed/" in body
    assert "document.currentScript" in body
    assert "insertBefore(frame, script.nextSibling)" in body
    assert "event.origin !== origin" in body
    assert "event.source !== frame.contentWindow" in body


def test_administrator_sees_the_snippets(dana):
    _settings(form_allowed_origins="https://www.shop.example")
    response = client_for(dana).get("/cases/public-form/")
    assert response.status_code == 200
    text = response.text
    assert "http://testserver/complaint/embed.js" in text
    assert "&lt;iframe src=&quot;http://testserver/complaint/embed/" in text
    assert "https://www.shop.example" in text
    assert client_for(dana).get("/cases/").text.count("/cases/public-form/") == 1


def test_only_administrators_see_the_snippet_page(alice, mia):
    for user in (alice, mia):
        assert client_for(user).get("/cases/public-form/").status_code == 403
        assert "/cases/public-form/" not in client_for(user).get("/cases/").text
    assert Client().get("/cases/public-form/").status_code == 302


def test_settings_are_one_row_in_django_admin(db):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    admin = admin_site._registry[ServiceSettings]
    client = client_for(root)
    response = client.get("/django-admin/service/servicesettings/")
    assert response.status_code == 302
    change = "/django-admin/service/servicesettings/1/change/"
    assert response["Location"].endswith(change)
    page = client.get(change)
    assert page.status_code == 200
    assert "Cases → Public form" in page.text
    saved = client.post(
        change,
        {
            "form_enabled": "on",
            "form_allowed_origins": "https://www.shop.example/",
            "form_min_seconds": 2,
            "form_posts_per_hour": 20,
            "hourly_rate": "65.00",
            "rating_link_days": 30,
        },
    )
    assert saved.status_code == 302, saved.text[:2000]
    config = ServiceSettings.load()
    assert config.form_allowed_origins == "https://www.shop.example"
    assert config.form_posts_per_hour == 20
    request = type("R", (), {"user": root})()
    assert not admin.has_add_permission(request)
    assert not admin.has_delete_permission(request, config)
    assert ServiceSettings.objects.count() == 1


def test_admin_refuses_an_embedding_website_that_is_no_origin(db):
    config = ServiceSettings.load()
    form = ServiceSettingsAdminForm(
        instance=config,
        data={
            "form_enabled": "on",
            "form_allowed_origins": "https://www.shop.example/\nwww.other.example/path",
            "form_min_seconds": 3,
            "form_posts_per_hour": 10,
            "hourly_rate": "60",
            "rating_link_days": 30,
        },
    )
    assert not form.is_valid()
    assert "www.other.example/path" in str(form.errors["form_allowed_origins"])
    good = ServiceSettingsAdminForm(
        instance=config,
        data=dict(form.data, form_allowed_origins=" https://www.shop.example/ \n\n"),
    )
    assert good.is_valid(), good.errors
    assert good.cleaned_data["form_allowed_origins"] == "https://www.shop.example"


def test_thank_you_page_offers_no_language_switch(form_ready):
    response = Client().post("/complaint/embed/", _data())
    assert "language-switch" not in response.text
    assert "language-switch" in Client().get("/complaint/embed/").text
    assert Client().head("/complaint/").status_code == 200


# --- The settings through the API and the permission rules ------------------------------------


def _api(user, api_key_for):
    key = api_key_for(user)
    headers = {"authorization": f"Bearer {key}"}

    def call(method, data=None):
        client = Client(headers=headers)
        if method == "get":
            return client.get("/api/v1/cases/config/settings")
        return client.patch(
            "/api/v1/cases/config/settings", json.dumps(data), content_type="application/json"
        )

    return call


def test_administrator_changes_the_form_settings_through_the_api(dana, api_key_for, billing):
    call = _api(dana, api_key_for)
    assert call("get").json()["form_enabled"] is True
    response = call(
        "patch",
        {
            "form_allowed_origins": ["https://www.shop.example/", "http://localhost:8200"],
            "form_category_id": billing.pk,
            "form_posts_per_hour": 5,
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["form_allowed_origins"] == ["https://www.shop.example", "http://localhost:8200"]
    assert body["form_category_id"] == billing.pk
    config = ServiceSettings.load()
    assert config.form_posts_per_hour == 5
    assert guard.embed_origins(config) == ["https://www.shop.example", "http://localhost:8200"]


def test_settings_api_refuses_bad_origins_and_changes_nothing(dana, api_key_for):
    call = _api(dana, api_key_for)
    response = call(
        "patch", {"form_allowed_origins": ["https://ok.example", "evil.example; script-src *"]}
    )
    assert response.status_code == 422
    assert "evil.example" in response.content.decode()
    assert ServiceSettings.load().form_allowed_origins == ""
    assert call("patch", {"form_posts_per_hour": 0}).status_code == 422


def test_only_administrators_see_and_change_the_settings(alice, mia, api_key_for):
    for user in (alice, mia):
        call = _api(user, api_key_for)
        assert call("get").status_code == 403
        assert call("patch", {"form_enabled": False}).status_code == 403
    assert ServiceSettings.load().form_enabled is True


def test_administrator_role_edits_the_settings_in_django_admin(dana):
    dana.is_staff = True  # as kreis.core.services.user_create makes every administrator
    dana.save()
    client = client_for(dana)
    page = client.get("/django-admin/service/servicesettings/", follow=True)
    assert page.status_code == 200
    assert page.redirect_chain[-1][0].endswith("/servicesettings/1/change/")
    assert "form_allowed_origins" in page.text
    assert client.get("/django-admin/service/servicesettings/add/").status_code == 403


def test_a_customer_found_by_phone_is_never_shown_their_stored_address(form_ready, alice):
    known = party_create(
        actor=alice,
        kind="person",
        first_name="Jana",
        last_name="Weber",
        emails=[{"value": "jana.private@example.org"}],
        phones=[{"value": "+49 40 555 0199"}],
    )
    response = Client().post("/complaint/", _data(email="someone@example.net", phone="040 5550199"))
    case = Case.objects.get()
    assert case.party == known
    assert "jana.private" not in response.text
    assert "someone@example.net" not in response.text  # no confirmation went there
    assert case.number in response.text
    # what the visitor typed stays on the case for the agent
    assert "someone@example.net" in case.description
    assert "040 5550199" in case.description
