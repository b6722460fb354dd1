/* Kreis website tracking — first-party, only with the visitor's consent.
 *
 * <script src="{{ base }}/t/kreis.js" async></script>            (the site's own banner calls
 *                                                                  KreisTracking.consent())
 * <script src="{{ base }}/t/kreis.js" data-banner="1" async></script>   (a minimal banner)
 *
 * Until KreisTracking.consent() is called nothing is stored and nothing is sent. Visitors who
 * send Do Not Track or Global Privacy Control are never tracked (consent() refuses). After
 * consent a random visitor id lives in a cookie and localStorage of the website itself (no
 * third-party cookie) and each page visit (address, title, referrer, time; UTM parameters are
 * read from the address) goes to Kreis. KreisTracking.revoke() deletes the id here and there.
 */
(function () {
  "use strict";
  if (window.KreisTracking) return;
  var script = document.currentScript;
  var base = "{{ base|escapejs }}";
  try {
    if (script && script.src) base = new URL(script.src).origin;
  } catch (e) {}
  var ENDPOINT = base + "/t/collect";
  var KEY = "kreis_vid";
  var DAYS = 395;
  var TEXTS = {{ texts|safe }};

  // Do Not Track and Global Privacy Control: such a visitor is never tracked.
  var blocked =
    navigator.doNotTrack === "1" ||
    window.doNotTrack === "1" ||
    navigator.msDoNotTrack === "1" ||
    navigator.globalPrivacyControl === true;

  function readCookie() {
    var match = document.cookie.match(/(?:^|;\s*)kreis_vid=([A-Za-z0-9_-]{16,64})/);
    return match ? match[1] : null;
  }

  function readId() {
    var id = null;
    try {
      id = window.localStorage.getItem(KEY);
    } catch (e) {}
    if (!id || !/^[A-Za-z0-9_-]{16,64}$/.test(id)) id = readCookie();
    return id;
  }

  function writeId(id) {
    var secure = location.protocol === "https:" ? "; Secure" : "";
    document.cookie =
      KEY + "=" + id + "; Max-Age=" + DAYS * 86400 + "; Path=/; SameSite=Lax" + secure;
    try {
      window.localStorage.setItem(KEY, id);
    } catch (e) {}
  }

  function removeId() {
    document.cookie = KEY + "=; Max-Age=0; Path=/; SameSite=Lax";
    try {
      window.localStorage.removeItem(KEY);
    } catch (e) {}
  }

  function newId() {
    var bytes = new Uint8Array(18);
    window.crypto.getRandomValues(bytes);
    var text = "";
    for (var i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function send(payload) {
    var body = JSON.stringify(payload);
    // text/plain: a "simple" request (no preflight); no credentials: Kreis sets and reads
    // no cookie on the visitor's side.
    if (window.fetch) {
      return window
        .fetch(ENDPOINT, {
          method: "POST",
          body: body,
          mode: "cors",
          credentials: "omit",
          keepalive: true,
          headers: { "Content-Type": "text/plain;charset=UTF-8" },
        })
        .catch(function () {});
    }
    if (navigator.sendBeacon) {
      navigator.sendBeacon(ENDPOINT, new Blob([body], { type: "text/plain;charset=UTF-8" }));
    }
  }

  function pageVisit() {
    return {
      url: location.href,
      title: document.title || "",
      referrer: document.referrer || "",
      at: Date.now(),
    };
  }

  var lastTracked = null;

  function track() {
    var id = readId();
    if (blocked || !id) return false;
    if (lastTracked === location.href) return true; // the same page, reported once
    lastTracked = location.href;
    send({ vid: id, visits: [pageVisit()] });
    return true;
  }

  var banner = null;

  function hideBanner() {
    if (banner && banner.parentNode) banner.parentNode.removeChild(banner);
    banner = null;
  }

  function language() {
    var wanted = (script && script.getAttribute("data-lang")) || document.documentElement.lang || "";
    return wanted.slice(0, 2).toLowerCase() === "de" ? "de" : "en";
  }

  function showBanner() {
    if (banner || blocked || readId()) return;
    var t = TEXTS[language()];
    banner = document.createElement("div");
    banner.setAttribute("role", "region");
    banner.setAttribute("aria-label", t.label);
    banner.className = "kreis-tracking-banner";
    var s = banner.style;
    s.position = "fixed";
    s.left = "1rem";
    s.right = "1rem";
    s.bottom = "1rem";
    s.zIndex = "2147483000";
    s.maxWidth = "40rem";
    s.margin = "0 auto";
    s.padding = "1rem";
    s.background = "#fff";
    s.color = "#212529";
    s.border = "1px solid #ced4da";
    s.borderRadius = ".5rem";
    s.boxShadow = "0 .5rem 1rem rgba(0,0,0,.15)";
    s.font = "14px/1.4 system-ui, sans-serif";
    var text = document.createElement("p");
    text.textContent = t.text;
    text.style.margin = "0 0 .75rem";
    var yes = document.createElement("button");
    yes.type = "button";
    yes.textContent = t.accept;
    yes.setAttribute("data-kreis-consent", "accept");
    var no = document.createElement("button");
    no.type = "button";
    no.textContent = t.decline;
    no.setAttribute("data-kreis-consent", "decline");
    [yes, no].forEach(function (b, i) {
      b.style.font = "inherit";
      b.style.padding = ".375rem .75rem";
      b.style.marginRight = ".5rem";
      b.style.borderRadius = ".375rem";
      b.style.cursor = "pointer";
      b.style.border = "1px solid " + (i === 0 ? "#0d6efd" : "#6c757d");
      b.style.background = i === 0 ? "#0d6efd" : "#fff";
      b.style.color = i === 0 ? "#fff" : "#212529";
    });
    yes.addEventListener("click", function () {
      api.consent();
    });
    no.addEventListener("click", function () {
      try {
        window.sessionStorage.setItem("kreis_declined", "1");
      } catch (e) {}
      hideBanner();
    });
    banner.append(text, yes, no);
    document.body.appendChild(banner);
  }

  var api = {
    /** The visitor agreed (the site's cookie banner calls this). False when Do Not Track or
     * Global Privacy Control forbids tracking. */
    consent: function () {
      if (blocked) return false;
      var id = readId();
      var first = !id;
      if (first) {
        id = newId();
        writeId(id);
      }
      hideBanner();
      lastTracked = location.href;
      send({ vid: id, consent: first ? Date.now() : undefined, visits: [pageVisit()] });
      return true;
    },
    /** The visitor withdrew: the id goes from this site, and Kreis deletes its visits. */
    revoke: function () {
      var id = readId();
      removeId();
      lastTracked = null;
      if (id) send({ vid: id, revoke: true });
      return true;
    },
    /** The visitor id after consent (for a web form's hidden field), else null. */
    visitorId: function () {
      return blocked ? null : readId();
    },
    hasConsent: function () {
      return !blocked && !!readId();
    },
    /** Report the current page again (single-page applications, after a route change). */
    track: track,
    blocked: blocked,
  };
  window.KreisTracking = api;
  if (blocked) return;

  function start() {
    if (readId()) {
      track();
      return;
    }
    var declined = false;
    try {
      declined = window.sessionStorage.getItem("kreis_declined") === "1";
    } catch (e) {}
    if (script && script.getAttribute("data-banner") === "1" && !declined) showBanner();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
