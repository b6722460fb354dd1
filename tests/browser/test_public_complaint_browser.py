"""A customer files a complaint on the public form — on Kreis and embedded in a shop's page on
another origin — and the service agent finds it in the case list with owner and due date."""

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.servers.basehttp import ThreadedWSGIServer
from django.test.testcases import LiveServerThread
from django.utils import timezone

from kreis.core.models import Role
from kreis.service.defaults import ensure_defaults
from kreis.service.models import Case, ServiceSettings
from tests.browser.test_shell_browser import SHOTS, sign_in
from tests.factories import MembershipFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def agent(db):
    ensure_defaults()  # an earlier transactional test's flush removed what migrate made
    config = ServiceSettings.load()
    config.form_min_seconds = 1  # the time trap, short enough for a test
    config.save()
    user = UserFactory(username="sam", first_name="Sam", last_name="Service")
    user.role = Role.SERVICE_AGENT
    user.save()
    MembershipFactory(team=TeamFactory(name="Support"), user=user)
    return user


def test_file_a_complaint_fix_an_error_and_see_it_as_the_agent(page, kreis_server, agent):
    live_server = kreis_server
    page.goto(f"{live_server.url}/complaint/")
    assert page.evaluate("document.activeElement.name") == "name"  # autofocus
    page.get_by_label("Your name").fill("Jana Weber")
    page.get_by_label("E-mail address").fill("jana.weber@")  # a typo
    page.get_by_label("What is it about?").select_option(label="Product defect")
    page.get_by_label("Subject").fill("Pump leaks")
    page.get_by_label("Description").fill("The heat pump leaks since Monday.")
    page.wait_for_timeout(1100)  # a person takes longer than the time trap's minimum
    page.get_by_role("button", name="Send complaint").click()
    error = page.locator("#id_email_error")
    error.wait_for()
    assert "valid email" in error.inner_text()
    assert page.get_by_label("Your name").input_value() == "Jana Weber"  # input kept
    assert page.get_by_label("Description").input_value() == "The heat pump leaks since Monday."
    assert page.evaluate("document.activeElement.name") == "email"  # straight to the error
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "complaint-form-error.png"), full_page=True)

    page.get_by_label("E-mail address").fill("jana.weber@example.org")
    page.get_by_role("button", name="Send complaint").click()
    number = page.locator("[data-testid=case-number]")
    number.wait_for()
    case = Case.objects.get()
    assert number.inner_text() == case.number
    assert "jana.weber@example.org" in page.locator("[data-testid=complaint-thanks]").inner_text()
    assert case.owner == agent
    assert case.channel == "form"
    # the browser logs the 422 of the form with errors: that answer is on purpose
    assert [e for e in page.console_errors if "422" not in e] == []

    sign_in(page, live_server, "sam")
    page.goto(f"{live_server.url}/cases/")
    row = page.locator("#case-rows tr", has_text=case.number)
    assert "Sam Service" in row.inner_text()
    row.get_by_role("link", name=case.number).click()
    page.wait_for_url(f"**/cases/{case.pk}/")
    status = page.locator("[data-testid=case-status]")
    due = status.locator("time")
    shown = due.get_attribute("datetime")[:16]
    assert shown == timezone.localtime(case.ack_due_at).isoformat()[:16]
    assert page.get_by_text("Sam Service").first.is_visible()


def test_german_form_at_phone_width(page, kreis_server, agent):
    live_server = kreis_server
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/complaint/?lang=de")
    assert page.locator("h1").inner_text() == "Beschwerde einreichen"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # nothing sticks out sideways
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "complaint-form-390-de.png"), full_page=True)
    page.get_by_role("link", name="English").click()
    page.wait_for_url("**/complaint/?lang=en")
    assert page.locator("h1").inner_text() == "File a complaint"


class _OneAppCallAtATime(ThreadedWSGIServer):
    """Each connection in its own thread, but one request inside Django at a time (the
    SQLite test database is one shared connection). The suite's server (tests/conftest.py)
    serves one connection at a time: a socket the browser opens ahead for the embedded frame,
    on another site's page, and leaves idle, held it up until the test timed out."""

    def set_app(self, application):
        lock = threading.Lock()

        def one_at_a_time(environ, start_response):
            with lock:
                return application(environ, start_response)

        super().set_app(one_at_a_time)


@pytest.fixture
def kreis_server(transactional_db, monkeypatch):
    """Kreis on a live server of these tests' own (localhost), serving connections in
    parallel and requests one after another."""
    from pytest_django.live_server_helper import LiveServer

    monkeypatch.setattr(LiveServerThread, "server_class", _OneAppCallAtATime)
    server = LiveServer("localhost:0")
    yield server
    server.stop()


@pytest.fixture
def shop(kreis_server):
    """A shop's website on another origin (its own server on 127.0.0.1, while Kreis answers on
    localhost) with the script snippet between two of its own paragraphs."""
    html = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Shop</title></head><body>"
        "<h1>Pumpen Schulz - Service</h1><p id='before'>Before the form.</p>"
        f"<script src='{kreis_server.url}/complaint/embed.js' data-lang='en'></script>"
        "<p id='after'>After the form.</p></body></html>"
    ).encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802  (the standard library's name)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def _allow(origin: str) -> None:
    config = ServiceSettings.load()
    config.form_allowed_origins = origin
    config.save()


def test_embedded_form_on_a_shop_page_of_another_origin(page, agent, shop):
    _allow(shop)
    page.goto(f"{shop}/service")
    frame_element = page.locator("iframe")
    frame_element.wait_for()
    # the frame stands where the script stood: between the shop's two paragraphs
    order = page.evaluate(
        "[...document.body.children].map(e => e.id || e.tagName.toLowerCase()).join(',')"
    )
    assert re.search(r"before,script,iframe,after", order), order
    frame = page.frame_locator("iframe")
    frame.get_by_label("Your name").wait_for()
    page.wait_for_function("document.querySelector('iframe').style.height !== ''")
    frame_height = frame_element.bounding_box()["height"]
    content = page.frames[1].evaluate("document.body.getBoundingClientRect().height")
    assert abs(frame_height - content) <= 2  # sized to the form, by postMessage
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "complaint-embedded-form.png"), full_page=True)

    frame.get_by_label("Your name").fill("Jana Weber")
    frame.get_by_label("E-mail address").fill("jana.weber@example.org")
    frame.get_by_label("Subject").fill("Delivery late")
    frame.get_by_label("Description").fill("Ordered three weeks ago.")
    page.wait_for_timeout(1100)
    frame.get_by_role("button", name="Send complaint").click()
    frame.locator("[data-testid=case-number]").wait_for()
    case = Case.objects.get()
    assert frame.locator("[data-testid=case-number]").inner_text() == case.number
    page.wait_for_function(
        "h => document.querySelector('iframe').getBoundingClientRect().height < h",
        arg=frame_height,
    )  # shrunk to the thank-you message
    page.screenshot(path=str(SHOTS / "complaint-embedded-thanks.png"), full_page=True)


def test_embedded_form_is_refused_on_a_website_not_configured(page, agent, shop):
    _allow("https://www.shop.example")  # some other website, not this one
    page.goto(f"{shop}/service")
    page.locator("iframe").wait_for()
    page.wait_for_timeout(1000)
    frame = page.frames[1]
    # the browser refused to show Kreis's answer in the frame (CSP frame-ancestors)
    assert frame.url.startswith("chrome-error://")
    assert frame.locator("[name=email]").count() == 0
    assert Case.objects.count() == 0
