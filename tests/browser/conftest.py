"""Browser tests drive Debian's Chromium through Playwright; the `browser` and `page`
fixtures live in tests/conftest.py so every app's browser tests share one browser."""
