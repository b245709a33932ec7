"""The draw-a-digit page in a real browser: headless Chromium driven by selenium.

Strokes are drawn with W3C pointer actions (mouse, pen or touch), which the browser turns into the
same pointer events a hand makes; the answer is read from what the page shows. Used by the page's
tests and by `loadtest.page_accuracy`.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.actions import interaction
from selenium.webdriver.common.actions.action_builder import ActionBuilder
from selenium.webdriver.common.actions.pointer_input import PointerInput
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from loadtest.drawn_digits import Stroke
from service.draw_page import PATH

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
MOVE_MS = 8  # one pointer move every 8 ms: a quick hand, and the page's live answers still fire
DESKTOP_WINDOW = (1100, 900)
PHONE = {
    "deviceMetrics": {"width": 360, "height": 760, "pixelRatio": 3.0, "touch": True},
    "userAgent": (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0 Mobile Safari/537.36"
    ),
}
POINTER_KINDS = {"mouse": interaction.POINTER_MOUSE, "pen": interaction.POINTER_PEN, "touch": interaction.POINTER_TOUCH}


class BrowserMissing(RuntimeError):
    """Chromium or its driver is not installed."""


@dataclass(frozen=True)
class ShownAnswer:
    state: str  # "answered", "unsure", "error" or "idle"
    digit: int | None
    headline: str
    status: str


def find_browser() -> tuple[str, str]:
    """Paths of a Chromium binary and of chromedriver, or BrowserMissing naming the packages."""
    browser = next((found for name in BROWSERS if (found := shutil.which(name))), None)
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        raise BrowserMissing("Chromium and chromedriver are needed: apt-get install chromium chromium-driver")
    return browser, driver


class DrawingPage:
    """One browser tab on the page; `phone=True` emulates a 360 px wide touch screen."""

    def __init__(self, base_url: str, phone: bool = False) -> None:
        browser, driver = find_browser()
        options = webdriver.ChromeOptions()
        options.binary_location = browser
        for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
            options.add_argument(argument)
        if phone:
            options.add_experimental_option("mobileEmulation", PHONE)
        else:
            options.add_argument("--window-size={},{}".format(*DESKTOP_WINDOW))
        self.driver = webdriver.Chrome(options=options, service=Service(driver))
        self.url = base_url.rstrip("/") + PATH + "/"
        self.driver.get(self.url)
        self.pad = self.driver.find_element(By.ID, "pad")

    def close(self) -> None:
        self.driver.quit()

    def __enter__(self) -> DrawingPage:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def pad_side(self) -> float:
        """The drawing area's width in CSS pixels."""
        return float(self.driver.execute_script("return arguments[0].getBoundingClientRect().width", self.pad))

    def draw(self, strokes: list[Stroke], kind: str = "mouse") -> None:
        """Draw strokes given in CSS pixels from the pad's top-left corner, one pointer action each."""
        left, top = self.driver.execute_script(
            "const r = arguments[0].getBoundingClientRect(); return [r.left, r.top]", self.pad
        )
        actions = ActionBuilder(self.driver, mouse=PointerInput(POINTER_KINDS[kind], kind), duration=MOVE_MS)
        pointer = actions.pointer_action
        for stroke in strokes:
            x, y = stroke[0]
            pointer.move_to_location(round(left + x), round(top + y))
            pointer.pointer_down()
            for x, y in stroke[1:]:
                pointer.move_to_location(round(left + x), round(top + y))
            pointer.pointer_up()
        actions.perform()

    def click(self, element_id: str) -> None:
        self.driver.find_element(By.ID, element_id).click()

    def press(self, *keys: str) -> None:
        chord = webdriver.ActionChains(self.driver)
        modifiers, key = keys[:-1], keys[-1]
        for modifier in modifiers:
            chord.key_down(modifier)
        chord.send_keys(key)
        for modifier in modifiers:
            chord.key_up(modifier)
        chord.perform()

    def upload(self, path: Path) -> None:
        self.driver.find_element(By.ID, "file").send_keys(str(path.resolve()))

    def state(self) -> str:
        """What the answer panel shows: "idle", "answered", "unsure" or "error"."""
        return self.driver.execute_script("return document.getElementById('result').dataset.state")

    def answer(self, timeout_s: float = 30) -> ShownAnswer:
        """What the page shows once it answers for what is on the pad now: a digit, an error, or idle."""
        script = (
            "const r = document.getElementById('result'); const p = document.getElementById('pad');"
            "return [r.dataset.state, r.dataset.version || '', p.dataset.version, r.dataset.digit || '']"
        )

        def settled(driver: webdriver.Chrome) -> list | bool:
            state, answered, current, digit = driver.execute_script(script)
            return [state, digit] if answered == current else False

        state, digit = WebDriverWait(self.driver, timeout_s, poll_frequency=0.02).until(settled)
        return ShownAnswer(
            state=state,
            digit=int(digit) if digit else None,
            headline=self.driver.find_element(By.ID, "headline").text,
            status=self.driver.find_element(By.ID, "status").text,
        )

    def model_input(self) -> list[list[int]]:
        """The 28x28 preview's grey levels, read back from its canvas."""
        return self.driver.execute_script(
            "const c = document.getElementById('seen').getContext('2d').getImageData(0, 0, 28, 28).data;"
            "const rows = []; for (let y = 0; y < 28; y++) { const row = [];"
            "for (let x = 0; x < 28; x++) row.push(c[(y * 28 + x) * 4]); rows.push(row); } return rows"
        )

    def latencies_ms(self) -> list[float]:
        """End of each stroke (or upload) to its answer on screen, as the page measured them."""
        return [float(value) for value in self.driver.execute_script("return window.pageStats.latenciesMs")]

    def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(path))
