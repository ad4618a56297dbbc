"""Drives Debian's chromium with Playwright against esplua's page (BrowserTests.swift).

usage: browser_check.py server URL FORWARD_PORT SCREENSHOT   (sketches/hello_server.lua)
       browser_check.py serial URL SCREENSHOT                   (the serial-to-LED sketch of the test)
       browser_check.py bmp280 URL SCREENSHOT                   (sketches/i2c_bmp280.lua)
Prints one line per check ("ok NAME" or "FAIL NAME: why") and exits 0 when all passed,
2 when chromium cannot start (the Swift test skips then)."""
import subprocess
import sys

from playwright.sync_api import sync_playwright

mode, url = sys.argv[1], sys.argv[2]
failures = 0
# term.js draws spaces as no-break spaces
CONSOLE = "document.getElementById('console').innerText.replace(/\\u00a0/g, ' ')"


def check(name, fn, timeout=15000):
    global failures
    try:
        fn(timeout)
        print("ok", name, flush=True)
    except Exception as e:  # noqa: BLE001 - report and go on
        failures += 1
        print("FAIL", name + ":", str(e).splitlines()[0], flush=True)


def server_checks(page, forward, screenshot):
    check("serial line", lambda t: page.wait_for_function(
        CONSOLE + ".includes('HTTP server on port 80')", timeout=t))
    body = subprocess.run(["curl", "-s", "-m", "10", f"http://127.0.0.1:{forward}/"],
                          capture_output=True, text=True).stdout
    print("ok curl" if "Hello from esplua" in body else "FAIL curl: " + repr(body), flush=True)
    # curl closes first once it has the body (the core answers its FIN with RST: no
    # TIME_WAIT); as telnet it reads until the board closes, so the board's pcb ends
    # in TIME_WAIT, as in a browser with HTTP/1.0
    subprocess.run(["curl", "-s", "-m", "10", f"telnet://127.0.0.1:{forward}"],
                   input="GET /again HTTP/1.0\r\n\r\n", capture_output=True, text=True)
    check("request line on the console", lambda t: page.wait_for_function(
        CONSOLE + ".includes('#1 GET / HTTP/1.1 -> 200')", timeout=t))
    check("TIME_WAIT row with a countdown", lambda t: page.wait_for_function(
        """[...document.querySelectorAll('#pcbs tbody tr.s-TIME_WAIT td.tw')]
             .some(td => /^\\d+\\.\\d s$/.test(td.textContent))""", timeout=t))
    check("SYN in the ladder", lambda t: page.wait_for_function(
        "document.querySelectorAll('#ladder g.segment.SYN').length >= 2", timeout=t))
    check("heap chart has points", lambda t: page.wait_for_function(
        "window.esplua.heapPoints > 0", timeout=t))
    page.wait_for_timeout(500)
    page.screenshot(path=screenshot)
    page.click("#reset")
    check("reset button reboots the board", lambda t: page.wait_for_function(
        CONSOLE + ".includes('reboot: External System')", timeout=t))


def serial_checks(page, screenshot):
    check("sketch ready", lambda t: page.wait_for_function(CONSOLE + ".includes('ready')", timeout=t))
    check("LED dark", lambda t: page.wait_for_function(
        "document.getElementById('led').dataset.lit === '0'", timeout=t))
    page.fill("#serial-input", "on")
    page.press("#serial-input", "Enter")
    check("typed line reaches the sketch", lambda t: page.wait_for_function(
        CONSOLE + ".includes('got on')", timeout=t))
    check("LED lit", lambda t: page.wait_for_function(
        "document.getElementById('led').dataset.lit === '1'", timeout=t))
    page.screenshot(path=screenshot)


def bmp280_checks(page, screenshot):
    check("first reading", lambda t: page.wait_for_function(CONSOLE + ".includes('21.50 C')", timeout=t))
    check("temperature field", lambda t: page.wait_for_selector(
        'input[data-control="sensor.temperature"]', timeout=t))
    page.fill('input[data-control="sensor.temperature"]', "25")
    page.press('input[data-control="sensor.temperature"]', "Enter")
    check("the sketch reads the new temperature", lambda t: page.wait_for_function(
        CONSOLE + ".includes('25.00 C')", timeout=t))
    page.screenshot(path=screenshot)


with sync_playwright() as p:
    try:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
    except Exception as e:  # noqa: BLE001
        print("SKIP chromium cannot start:", str(e).splitlines()[0], flush=True)
        sys.exit(2)
    page = browser.new_page(viewport={"width": 1400, "height": 760})
    page.goto(url)
    check("websocket connected", lambda t: page.wait_for_function(
        "document.getElementById('status').textContent === 'connected'", timeout=t))
    if mode == "server":
        server_checks(page, sys.argv[3], sys.argv[4])
    elif mode == "serial":
        serial_checks(page, sys.argv[3])
    else:
        bmp280_checks(page, sys.argv[3])
    browser.close()
sys.exit(1 if failures else 0)
