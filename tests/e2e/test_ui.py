"""The UI in a real browser (Debian's chromium through Playwright) against real `editroom
serve` and `editroom runner` processes: what a person does and sees, page by page, at desktop
and phone width, with an accessibility check (axe-core) on every page. One service, runner and
browser serve every test of the module (each test its own browser context), so tests assert on
what they made themselves, never on the whole library being theirs."""

import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx2 as httpx
import psycopg
import pytest
from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Locator,
    Page,
    Request,
    Route,
    ViewportSize,
    expect,
    sync_playwright,
)
from psycopg.rows import dict_row

from tests import media
from tests.conftest import require_tool
from tests.processes import editroom_env, editroom_process, serving
from tests.queue import disable_backoff

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
DESKTOP = ViewportSize(width=1280, height=800)
PHONE = ViewportSize(width=390, height=844)
NARROWEST_TABLE_WIDTH = 901  # style.css: narrower, each row of a table is a card
NARROW_DESKTOP = ViewportSize(width=960, height=800)  # the tables' rows are still rows
LIVE_TIMEOUT_MS = 20_000  # an edit on tiny media, seen through the event stream


@pytest.fixture(scope="module")
def service(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with psycopg.connect(module_database_url, autocommit=True, row_factory=dict_row) as conn:
        disable_backoff(conn)
    logs = tmp_path_factory.mktemp("ui-service")
    env = editroom_env(
        module_database_url, logs / "data", poll_interval_seconds="0.5",
        progress_interval_seconds="0.2",
    )  # fmt: skip
    with ExitStack() as stack:
        base_url = stack.enter_context(serving(env, logs / "serve.log"))
        stack.enter_context(editroom_process("runner", env=env, log=logs / "runner.log"))
        yield base_url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = require_tool("chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Watch:
    """What must never happen on a page: a console error, or a request to another host."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.problems: list[str] = []
        self.expected: list[str] = []  # console messages a test provokes on purpose
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("request", lambda r: self._request(r.url, base_url))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and not any(e in message.text for e in self.expected):
            self.problems.append(f"console: {message.text}")

    def _request(self, url: str, base_url: str) -> None:
        if not url.startswith((base_url, "blob:", "data:")):
            self.problems.append(f"request to another host: {url}")


@pytest.fixture
def page(browser: Browser, service: str) -> Iterator[Page]:
    context = browser.new_context(base_url=service, viewport=DESKTOP)
    opened = context.new_page()
    opened.set_default_timeout(LIVE_TIMEOUT_MS)
    expect.set_options(timeout=LIVE_TIMEOUT_MS)
    yield opened
    context.close()


@pytest.fixture
def watch(page: Page, service: str) -> Iterator[Watch]:
    watching = Watch(page, service)
    yield watching
    assert watching.problems == []


def check_page(page: Page, name: str) -> None:
    """No serious or critical accessibility violation; at both widths, nothing wider than the
    window or its table cell, and a screenshot."""
    page.wait_for_load_state("networkidle")
    results = Axe().run(page)
    serious = [
        (v["id"], v["help"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == [], name
    ARTIFACTS.mkdir(exist_ok=True)
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        assert page.evaluate(OVERFLOWING) == [], f"{name} at {label} width"
        page.screenshot(path=ARTIFACTS / f"{name}-{label}.png", full_page=True)
    page.set_viewport_size(DESKTOP)


# What is cut off or spills over: the page scrolling sideways, or a table cell's content wider
# than the cell (the cell's label, as its column names it at phone width); and a table's
# button whose word is broken across lines ("Retr" over "y": a column squeezed to a letter), or
# a number parted from its unit ("87" over "ms", "3.1" over "KB"), anywhere on the page.
OVERFLOWING = """() => {
  const root = document.documentElement;
  const spilt = [...document.querySelectorAll("td")]
    .filter((td) => td.scrollWidth > td.clientWidth + 1);
  const lines = (element) => {
    const range = document.createRange();
    range.selectNodeContents(element);
    return new Set([...range.getClientRects()].map((rect) => Math.round(rect.top))).size;
  };
  const broken = [...document.querySelectorAll("td button")].filter((b) => lines(b) > 1);
  const parted = [];
  const QUANTITY = /\\d+(?:\\.\\d+)?\\s(?:B|KB|MB|GB|ms|s)\\b/g;
  const texts = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (texts.nextNode()) {
    for (const found of texts.currentNode.data.matchAll(QUANTITY)) {
      const range = document.createRange();
      range.setStart(texts.currentNode, found.index);
      range.setEnd(texts.currentNode, found.index + found[0].length);
      const tops = new Set([...range.getClientRects()].map((rect) => Math.round(rect.top)));
      if (tops.size > 1) parted.push(found[0]);
    }
  }
  return [...(root.scrollWidth > root.clientWidth ? ["the page scrolls sideways"] : []),
    ...spilt.map((td) => `a cell of ${td.dataset.label || "no column"}`),
    ...broken.map((button) => `the button ${button.textContent} broken across lines`),
    ...parted.map((quantity) => `${quantity} broken across lines`)];
}"""


def files(tmp_path: Path) -> list[Path]:
    beach = tmp_path / "beach.png"
    beach.write_bytes(media.image_bytes("PNG", size=(320, 240)))
    forest = tmp_path / "forest.png"
    forest.write_bytes(media.image_bytes("PNG", size=(640, 480)))  # gets a small copy made
    clip = media.write_video(
        tmp_path / "clip.webm", container="webm", vcodec="libvpx-vp9", acodec=None,
        seconds=2.0, size=(160, 120), fps=10,
    )  # fmt: skip
    return [beach, forest, clip]


def natural_width(page: Page) -> int:
    return int(page.locator("img.head").evaluate("image => image.naturalWidth"))


def offered_apply(page: Page, name: str, where: str) -> Locator:
    """The Apply of operation `name` offered beside the head (at phone width), in view and
    said to a screen reader; the window, as seen, kept as editor-<name>-offered-phone.png."""
    apply_here = page.locator(".stage").get_by_role("button", name=f"Apply {name}")
    expect(apply_here).to_be_in_viewport()
    expect(page.locator(".apply-here [aria-live]")).to_have_text(
        f"{name.capitalize()} set: Apply {name} is {where}."
    )
    page.screenshot(path=ARTIFACTS / f"editor-{name}-offered-phone.png")
    return apply_here


def test_a_person_edits_saves_a_workflow_and_watches_the_queue(
    page: Page, watch: Watch, service: str, tmp_path: Path
) -> None:
    page.goto("/#/library")
    expect(page.get_by_role("heading", name="Library")).to_be_visible()
    page.locator("input[type=file]").set_input_files(files(tmp_path))
    uploads = page.locator(".upload")
    expect(uploads.filter(has_text="new:")).to_have_count(3)
    # Only upload progress events move a bar: all three were seen through to the end.
    values = uploads.locator("progress").evaluate_all("bars => bars.map(bar => bar.value)")
    assert values == [1, 1, 1]
    expect(page.locator(".card")).to_have_count(3)
    check_page(page, "library")

    page.get_by_role("link", name="Edit beach.png").click()
    expect(page.get_by_role("heading", name="beach.png")).to_be_visible()
    expect(page.locator("img.head")).to_be_visible()
    page.locator("details[data-op=color] summary").click()
    brightness = page.get_by_label("brightness")
    expect(brightness).to_have_attribute("max", "5")  # the factor's bound in GET /operations
    brightness.fill("1.5")  # previewed at once, not applied
    page.locator("details[data-op=color] summary").click()
    page.locator("details[data-op=crop] summary").click()
    box = page.locator(".picture").bounding_box()
    assert box is not None
    # The 320x240 picture fills the centre column: larger than it is, in its proportions.
    assert box["width"] > 480 and box["width"] / box["height"] == pytest.approx(4 / 3, abs=0.01)
    page.mouse.move(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.25)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5, steps=5)
    page.mouse.move(box["x"] + box["width"] * 0.75, box["y"] + box["height"] * 0.75, steps=5)
    page.mouse.up()
    crop = page.get_by_label("crop", exact=True)
    x, y, width, height = (int(n) for n in crop.input_value().split(","))
    assert (x, y) == (80, 60) and abs(width - 160) <= 2 and abs(height - 120) <= 2
    # The form beside the picture, its Apply in view: no second one offered under the picture.
    expect(page.locator(".apply-here button")).to_be_hidden()
    page.get_by_role("button", name="Apply crop").click()
    step = page.locator(".step").first
    expect(step).to_have_attribute("data-status", "completed")
    expect(step.locator(".head-mark")).to_be_visible()
    expect(step.locator(".step-ops")).to_have_text(f"crop=80,60,{width},{height}")
    # The crop loaded (a picture still loading is 0 wide): narrower than the original.
    page.wait_for_function(
        "() => [document.querySelector('img.head')?.naturalWidth].some((w) => w > 0 && w < 320)"
    )
    assert natural_width(page) == width
    expect(crop).to_have_value("")  # the old box does not fit the new head
    expect(brightness).to_have_value("1")  # the new head starts from neutral colours
    shown = page.locator(".picture").bounding_box()
    assert shown is not None and shown["width"] == pytest.approx(box["width"], abs=1)
    expect(page.locator(".stage")).not_to_contain_text("null")  # nothing missing written as such
    check_page(page, "editor")

    page.get_by_role("button", name="Undo").click()
    expect(page.locator(".head-mark:visible")).to_have_count(0)
    page.wait_for_function("() => document.querySelector('img.head')?.naturalWidth === 320")
    page.keyboard.press("Control+Shift+Z")  # redo, from the keyboard
    expect(step.locator(".head-mark")).to_be_visible()
    page.get_by_label("Save the steps as a workflow").fill("centre-crop")
    page.get_by_role("button", name="Save as workflow").click()
    page.get_by_role("link", name="centre-crop (version 1)").click()

    expect(page.locator("pre.json")).to_contain_text('"op": "crop"')
    # Read as the editor lists steps, before the JSON they are saved as.
    steps = page.locator(".tabpanel .written-item")
    expect(steps).to_have_text([f"crop=80,60,{width},{height}"])
    check_page(page, "workflow-steps")
    page.get_by_role("tab", name="Runs").click()
    run_on = page.get_by_label("Run on")
    expect(run_on.locator("option")).not_to_have_count(0)
    expect(run_on).to_have_value("")  # nothing chosen for the person
    offered = run_on.locator("option").all_inner_texts()
    assert "forest.png (image)" in offered
    assert not [o for o in offered if "-edited" in o]  # uploads, not the crop or small copies
    check_page(page, "workflow-runs")
    run_on.select_option(label="forest.png (image)")
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.locator(".tabpanel .saved")).to_contain_text("1 edit queued.")
    page.get_by_role("button", name="Run", exact=True).click()  # the same again: reused
    expect(page.locator(".tabpanel .saved")).to_contain_text("1 identical edit was already made")
    expect(page.locator(".tabpanel .saved")).not_to_contain_text("queued")
    page.get_by_role("link", name="See the executions").click()
    expect(page.locator("tr[data-status=completed]")).to_have_count(1)
    expect(page.locator(".counts dd[data-status=completed]")).to_have_text("1")
    check_page(page, "workflow-executions")
    page.get_by_role("button", name="Delete workflow").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.get_by_role("heading", name="Workflows")).to_be_visible()
    expect(page.get_by_role("link", name="centre-crop")).to_have_count(0)
    exported = tmp_path / "small.json"
    exported.write_text(json.dumps({"name": "small", "ops": [{"op": "resize", "width": 64}]}))
    page.get_by_label("Import a workflow (JSON)").set_input_files(exported)
    expect(page.locator("pre.json")).to_contain_text('"width": 64')
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Workflows").click()
    imported = page.get_by_role("row").filter(has=page.get_by_role("link", name="small"))
    expect(imported).to_contain_text("resize=64x")  # as written in the edit language
    check_page(page, "workflows")

    page.goto("/#/library?type=video")
    expect(page.locator(".card")).to_have_count(1)
    page.get_by_role("link", name="Edit clip.webm").click()
    video = page.locator("video.head")
    expect(video).to_be_visible()
    page.wait_for_function("() => document.querySelector('video.head').readyState >= 1")
    start_handle = page.get_by_role("slider", name="Trim start")
    start_handle.focus()
    page.keyboard.press("ArrowRight")  # one frame at a time (10 fps)
    page.keyboard.press("ArrowRight")
    handle = page.get_by_role("slider", name="Trim end")
    track = page.locator(".timeline-track").bounding_box()
    handle_box = handle.bounding_box()
    assert track is not None and handle_box is not None
    page.mouse.move(handle_box["x"] + handle_box["width"] / 2, handle_box["y"] + 5)
    page.mouse.down()
    page.mouse.move(track["x"] + track["width"] * 0.5, handle_box["y"] + 5, steps=5)
    page.mouse.up()
    trim = page.get_by_label("trim", exact=True)
    start, end = (float(n) for n in trim.input_value().split(","))
    assert start == pytest.approx(0.2) and end == pytest.approx(1.0, abs=0.1)
    assert round(end * 10, 6) == round(end * 10)  # on a frame (10 fps)
    assert video.evaluate("v => v.currentTime") == pytest.approx(end, abs=0.11)
    # The track's times: its start and end, and what the handles keep.
    kept = f"0:00.20 \u2013 0:0{end:.2f} · {end - start:.2f} s kept"  # an en dash
    expect(page.locator(".timeline-times span")).to_have_text(["0:00.00", kept, "0:02.00"])
    expect(page.locator(".apply-here button")).to_be_hidden()  # the form's Apply is in view
    # At phone width the form is below the steps, out of sight: a handle moved offers Apply
    # under the timeline, said to a screen reader, the next Tab; it applies what the form holds.
    page.set_viewport_size(PHONE)
    handle.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowLeft")  # back where the drag left it
    apply_here = offered_apply(page, "trim", "under the timeline")
    page.keyboard.press("Tab")
    expect(apply_here).to_be_focused()
    page.keyboard.press("Enter")
    expect(apply_here).to_be_hidden()
    expect(page.locator(".steps")).to_be_focused()  # where the new step is listed
    page.set_viewport_size(DESKTOP)
    expect(page.locator(".step").first).to_have_attribute("data-status", "completed")
    expect(page.locator(".step-ops").first).to_have_text(f"trim={start:g},{end:g}")
    page.wait_for_function(
        "() => { const v = document.querySelector('video.head');"
        " return v.readyState >= 1 && v.duration < 0.95; }"
    )
    # The new head is the whole of what the handles and the numbers now span.
    expect(trim).to_have_value(f"0,{end - start:.3f}")  # every frame kept, the last one too
    expect(start_handle).to_have_attribute("aria-valuenow", "0.000")
    expect(handle).to_have_attribute("aria-valuenow", trim.input_value().split(",")[1])
    check_page(page, "editor-video")

    page.goto("/#/queue")
    completed = page.locator(".counts dd[data-status=completed]")
    # The three edits above, and the small copies the library showed (resize=320x&format=webp).
    with httpx.Client(base_url=service) as api:
        done = settled_completed(api)
        thumbnails = api.get("/edit", params={"status": "completed", "limit": 500}).json()
        made = [e for e in thumbnails["items"] if e["query"] == THUMBNAIL_QUERY]
        assert made and done == 3 + len(made)
        expect(completed).to_have_text(str(done))
        # The runner is known while it holds an edit only: no column empty for the rest.
        expect(page.get_by_role("columnheader", name="Worker")).to_have_count(0)
        check_page(page, "queue")
        picture = api.get("/bucket/upload", params={"type": "image", "origin": "upload"})
        forest = next(m for m in picture.json()["items"] if m["original_name"] == "forest.png")
        api.post("/edit", params={"media": forest["id"], "flip": "h"}).raise_for_status()
    expect(completed).to_have_text(str(done + 1))  # without a reload
    # Listed: the person's own edits, not the copies addresses made (counted above).
    expect(page.locator("tr[data-status=completed]")).to_have_count(done + 1 - len(made))
    newest = page.locator("tr[data-status=completed]").first
    expect(newest).to_contain_text("flip=h")
    expect(newest).to_contain_text("forest.png")  # the media by its name, with its picture
    expect(newest.locator(".mini-thumb img")).to_be_visible()
    expect(page.locator("#count-running")).to_have_text("0")


def test_every_table_lists_operations_as_the_editor_does(
    page: Page, watch: Watch, service: str
) -> None:
    """The queue, the workflows and a workflow's executions list an edit's operations as the
    editor lists a step's: one a line, each parameter its own chip, so the "&" of
    text=Tom & Jerry is inside its chip; an id too long for a phone's table cell is broken
    within it."""
    with httpx.Client(base_url=service, timeout=60) as api:
        picture = media.image_bytes("PNG", size=(84, 63))
        uploaded = api.post("/bucket/upload", params={"filename": "cartoon.png"}, content=picture)
        base = uploaded.json()["id"]
        steps = {"text": "Tom & Jerry", "text_position": "top", "overlay": base, "resize": "64x"}
        made = api.post("/workflows", params={"name": "title-card", **steps})
        workflow = made.json()["id"]
        run = api.post(f"/workflows/{workflow}/run", params={"media": base, "wait": "30"})
        assert run.json()["status"] == "completed"
    # The media overlay names is told by its name, a link to its editor.
    lines = [["text=Tom & Jerry", "text_position=top"], ["overlay=cartoon.png"], ["resize=64x"]]
    edit = page.locator(f"tr[data-edit='{run.json()['id']}']")
    title_card = page.get_by_role("row").filter(has=page.get_by_role("link", name="title-card"))
    for address, row, name in (
        ("/#/queue", edit, "queue-operations"),
        ("/#/workflows", title_card, "workflows-operations"),
        (f"/#/workflows/{workflow}/executions", edit, "executions-operations"),
    ):
        page.goto(address)
        written = row.locator(".written-op")
        expect(written).to_have_count(len(lines))
        for line, items in zip(written.all(), lines, strict=True):
            expect(line.locator(".written-item")).to_have_text(items)
        named = written.nth(1).get_by_role("link", name="cartoon.png")
        expect(named).to_have_attribute("href", f"#/media/{base}")
        # A screen reader hears the parameters apart, not an "&" between two chips.
        expect(written.first).to_match_aria_snapshot(HEARD)
        check_page(page, name)
    # At phone width too the tab shown is marked on the tabs' line, Delete out of their way.
    page.set_viewport_size(PHONE)
    assert 0 <= page.get_by_role("tab", name="Executions").evaluate(ABOVE_ITS_LINE) <= 2


# The first operation of title-card as a screen reader hears it: two parameters, no "&" between.
HEARD = "- listitem: /text=Tom & Jerry ?, text_position=top/"


# How far a tab's foot is above the line under it (its nearest box with a bottom border).
ABOVE_ITS_LINE = """tab => {
  let row = tab.parentElement;
  while (parseFloat(getComputedStyle(row).borderBottomWidth) === 0) row = row.parentElement;
  return row.getBoundingClientRect().bottom - tab.getBoundingClientRect().bottom;
}"""


def test_the_head_follows_an_edit_that_finishes_while_the_session_is_read(
    page: Page, watch: Watch, service: str
) -> None:
    """Each read of the session is held back here until its edits have finished on the server
    and a second more (for the event to reach the page), so the read made after "Apply",
    answered while the blur of a large picture runs, lands after the completion's event. The
    editor must read once more: the step becomes the head."""
    with httpx.Client(base_url=service) as api:
        uploaded = api.post(
            "/bucket/upload", params={"filename": "slow-read.png"},
            content=media.image_bytes("PNG", size=(2400, 1600)),
        )  # fmt: skip
        uploaded.raise_for_status()
    page.goto(f"/#/media/{uploaded.json()['id']}")
    expect(page.locator("img.head")).to_be_visible()
    answered: list[list[str]] = []  # the steps' statuses, as each held read answered them

    def held_back(route: Route) -> None:
        answer = route.fetch()
        answered.append([step["status"] for step in answer.json()["steps"]])
        with httpx.Client(base_url=service) as api:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                steps = api.get(route.request.url).json()["steps"]
                if steps and all(step["status"] == "completed" for step in steps):
                    break
                time.sleep(0.05)
        time.sleep(1.0)
        route.fulfill(response=answer)

    page.route(re.compile(r"/sessions/[0-9a-f-]{36}$"), held_back)
    page.locator("details[data-op=blur] summary").click()
    page.get_by_label("blur", exact=True).fill("30")
    page.get_by_role("button", name="Apply blur").click()
    step = page.locator(".step").first
    expect(step).to_have_attribute("data-status", "completed")
    expect(step.locator(".head-mark")).to_be_visible()
    assert answered[0] != ["completed"]  # the race was run: the first read was stale
    assert answered[-1] == ["completed"]


THUMBNAIL_QUERY = "resize=320x&format=webp"


def test_the_keyboard_keeps_its_place_while_steps_change(
    page: Page, watch: Watch, service: str
) -> None:
    """While a slow first step runs (seconds of AVIF), the second's Cancel has the focus and a
    third step is asked for: its row is added above. The focus stays, Enter cancels, and a
    screen reader is told of the changes of status, not read the whole list again."""
    with httpx.Client(base_url=service, timeout=60) as api:
        picture = media.image_bytes("PNG", size=(3000, 2000))
        uploaded = api.post("/bucket/upload", params={"filename": "slow.png"}, content=picture)
        media_id = uploaded.json()["id"]
        session = api.post("/sessions", params={"media": media_id}).json()["id"]

        def step(query: str) -> str:
            return str(api.post(f"/edit?session={session}&{query}").json()["id"])

        first, second = step("rotate=33&format=avif&quality=auto"), step("flip=h")  # seconds
        page.goto(f"/#/media/{media_id}")  # the page reads both steps
        cancel = page.locator(f"li[data-edit='{second}'] button", has_text="Cancel")
        cancel.focus()
        page.evaluate(
            "() => { window.redraws = 0; new MutationObserver(() => window.redraws++)"
            ".observe(document.querySelector('.steps'), { childList: true });"
            " window.told = []; const live = document.querySelector('.history [aria-live]');"
            " new MutationObserver(() => window.told.push(live.textContent))"
            ".observe(live, { childList: true, characterData: true, subtree: true }); }"
        )
        third = step("flip=v")  # its row is added to the list
        page.wait_for_function("() => window.redraws > 0")
        expect(cancel).to_be_focused()
        page.keyboard.press("Enter")
        expect(page.locator(f"li[data-edit='{second}']")).to_have_attribute(
            "data-status", "cancelled"
        )
        # Its Cancel gone (and Retry not offered while the first runs), the focus is on what
        # became of it, not on the row, which offers nothing.
        expect(page.locator(f"li[data-edit='{second}'] .chip")).to_be_focused()
        expect(page.locator(".steps")).not_to_have_attribute("aria-live", re.compile("."))
        page.wait_for_function("() => window.told.some((t) => t.includes('Step #2 cancelled.'))")
        for running in (first, third):
            api.delete(f"/edit/{running}")


def slow_session(api: httpx.Client) -> tuple[str, str]:
    """A picture whose AVIF takes seconds to make (the same bytes each time: one media), and a
    session opened on it: its media and session ids."""
    picture = media.image_bytes("PNG", size=(3000, 2000))
    uploaded = api.post("/bucket/upload", params={"filename": "slow.png"}, content=picture)
    media_id = uploaded.json()["id"]
    return media_id, api.post("/sessions", params={"media": media_id}).json()["id"]


SLOW_STEP = "rotate=33&format=avif&quality=auto"
# The step list as it is now: a step's status, how many steps are marked abandoned, the words.
LIST_NOW = """(list, id) => ({ first: list.querySelector(`[data-edit="${id}"]`).dataset.status,
  abandoned: list.querySelectorAll(".abandoned").length, text: list.innerText })"""


def test_steps_from_elsewhere_show_at_once_and_wait_their_turn(
    page: Page, watch: Watch, service: str
) -> None:
    """A step asked for while the one before it still runs waits for it: queued, not abandoned
    (abandoned is undone, then replaced). One asked for elsewhere (the API, another tab) is
    listed as soon as it is queued, not once it has finished. Undo, refused meanwhile, says
    why in words (the API names the session by its id)."""
    watch.expected.append("status of 409")
    with httpx.Client(base_url=service, timeout=60) as api:
        media_id, session = slow_session(api)
        first = api.post(f"/edit?session={session}&{SLOW_STEP}").json()["id"]
        second = api.post(f"/edit?session={session}&rotate=90").json()["id"]
        page.goto(f"/#/media/{media_id}")
        expect(page.locator(f"li[data-edit='{second}']")).to_have_attribute("data-status", "queued")
        # One look at the list, while the first step still runs (expect would wait it out).
        shown = page.locator(".steps").evaluate(LIST_NOW, first)
        assert shown["first"] in ("queued", "processing")
        assert shown["abandoned"] == 0 and "abandoned" not in shown["text"].lower()
        page.keyboard.press("Control+z")  # undo waits for the steps: said in words, not ids
        refused = page.locator(".history").get_by_role("alert")
        expect(refused).to_have_text(re.compile("^Steps are still running: undo once"))
        expect(page.get_by_text("Undo and redo wait until the steps")).to_be_visible()
        third = api.post(f"/edit?session={session}&flip=v").json()["id"]
        expect(page.locator(f"li[data-edit='{third}']")).to_have_attribute("data-status", "queued")
        assert page.locator(".steps").evaluate(LIST_NOW, first)["first"] in ("queued", "processing")
        # The queue says what a step with no media yet will read, and, cancelled, that it read none.
        page.goto("/#/queue")
        source = page.locator(f"tr[data-edit='{third}'] td[data-label='Media']")
        expect(source).to_have_text("the step before's result, once it completes")
        api.delete(f"/edit/{first}")  # and the ones waiting for it, with it
        expect(source).to_have_text("none: the step before did not complete")
        check_page(page, "queue-session-steps")  # not before: the first step may finish


def test_cancel_pressed_and_held_while_progress_arrives_cancels(
    page: Page, watch: Watch, service: str, tmp_path: Path
) -> None:
    """A video step (seconds of VP9 at 1920x1440) reports its progress several times a second.
    Cancel, pressed and held while progress arrives, then released, cancels, in the queue and
    in the editor: each event writes the bar in place, and the button pressed is the button
    released. The clip is long enough that a loaded machine cannot finish a step while the
    page settles and the button is held (both are cancelled, so its length costs nothing)."""
    clip = media.write_video(
        tmp_path / "long.mp4", acodec=None, seconds=12, size=(160, 120), fps=25
    )
    with httpx.Client(base_url=service, timeout=60) as api:
        content = clip.read_bytes()
        uploaded = api.post("/bucket/upload", params={"filename": "long.mp4"}, content=content)
        media_id = uploaded.json()["id"]
        session = api.post("/sessions", params={"media": media_id}).json()["id"]
        query = f"/edit?session={session}&resize=1920x1440&format=webm"
        first = api.post(query).json()["id"]
        page.goto("/#/queue")
        hold_cancel(page, first)
        second = api.post(query).json()["id"]  # the first cancelled: it runs at once
    page.goto(f"/#/media/{media_id}")
    row = hold_cancel(page, second)
    expect(row.get_by_role("button", name="Retry")).to_be_visible()  # it may run another time


def hold_cancel(page: Page, edit: str) -> Locator:
    """Press the Cancel of an edit's row, hold it until its progress moves on, release it; the
    edit is cancelled. The row."""
    row = page.locator(f"[data-edit='{edit}']")
    expect(row).to_have_attribute("data-status", "processing")
    page.wait_for_load_state("networkidle")  # the page has read its list: the row stays put
    box = row.get_by_role("button", name="Cancel").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    pressed_at = row.locator("progress").evaluate("bar => bar.value")
    page.mouse.down()
    page.wait_for_function(PROGRESSED, arg=[edit, pressed_at])
    page.mouse.up()
    expect(row).to_have_attribute("data-status", "cancelled")
    return row


# An edit's row still processing whose bar has moved on from `value`.
PROGRESSED = """([id, value]) => {
  const row = document.querySelector(`[data-edit="${id}"]`);
  return row?.dataset.status === "processing" && row.querySelector("progress").value > value;
}"""


def test_retry_is_offered_where_the_api_says_it_may_help(
    page: Page, watch: Watch, service: str, tmp_path: Path
) -> None:
    """Retry is offered as the API's `retryable` says, in the queue and in the editor, and
    follows it live: a video step cancelled, and the step after it cancelled with it (it
    never ran), which may run only once the first has completed; a headshot of a picture
    without a face, which the runner said would fail the same way."""
    clip = media.write_video(tmp_path / "two.mp4", acodec=None, seconds=2, size=(160, 120), fps=25)
    with httpx.Client(base_url=service, timeout=60) as api:
        uploaded = api.post(
            "/bucket/upload", params={"filename": "two.mp4"}, content=clip.read_bytes()
        )
        video = uploaded.json()["id"]
        session = api.post("/sessions", params={"media": video}).json()["id"]
        first = api.post(f"/edit?session={session}&resize=640x480&format=webm").json()["id"]
        after = api.post(f"/edit?session={session}&thumbnail=1").json()["id"]
        api.delete(f"/edit/{first}").raise_for_status()  # the step after it, with it
        picture = media.image_bytes("PNG", size=(66, 50))
        uploaded = api.post("/bucket/upload", params={"filename": "faceless.png"}, content=picture)
        alike = api.post(f"/edit?media={uploaded.json()['id']}&headshot&wait=30").json()
        assert (alike["status"], alike["retryable"]) == ("failed", False)
    page.goto("/#/queue")
    rows = {edit: page.locator(f"tr[data-edit='{edit}']") for edit in (first, after, alike["id"])}
    expect(rows[first].get_by_role("button", name="Retry")).to_be_visible()
    expect(rows[after]).to_have_attribute("data-status", "cancelled")
    expect(rows[after].get_by_role("button", name="Retry")).to_have_count(0)
    expect(rows[alike["id"]]).to_contain_text("trying it again would fail the same way")
    expect(rows[alike["id"]].get_by_role("button", name="Retry")).to_have_count(0)
    check_page(page, "queue-retry")
    rows[first].get_by_role("button", name="Retry").click()
    # Once the first step has completed, the one after it may run: offered as it happens.
    expect(rows[first]).to_have_attribute("data-status", "completed", timeout=60_000)
    expect(rows[after].get_by_role("button", name="Retry")).to_be_visible()
    page.goto(f"/#/media/{video}")
    step_after = page.locator(f".step[data-edit='{after}']")
    expect(page.locator(f".step[data-edit='{first}'] button")).to_have_count(2)  # hidden both
    expect(
        page.locator(f".step[data-edit='{first}']").get_by_role("button", name="Retry")
    ).to_be_hidden()
    expect(step_after.get_by_role("button", name="Retry")).to_be_visible()
    check_page(page, "editor-retry")
    step_after.get_by_role("button", name="Retry").click()
    expect(step_after).to_have_attribute("data-status", "completed")
    expect(step_after.get_by_role("button", name="Retry")).to_be_hidden()


# Whether one element ends above where another begins.
ABOVE = "(one, other) => one.getBoundingClientRect().bottom <= other.getBoundingClientRect().top"


def stepped(
    api: httpx.Client, *, filename: str, content: bytes, step: str
) -> tuple[str, dict[str, Any]]:
    """Media uploaded as `filename`, a session on it, and its step `step` run to its end: the
    media's id and the step as its wait answered."""
    uploaded = api.post("/bucket/upload", params={"filename": filename}, content=content)
    media_id = str(uploaded.json()["id"])
    session = api.post("/sessions", params={"media": media_id}).json()["id"]
    done: dict[str, Any] = api.post(f"/edit?session={session}&{step}&wait=30").json()
    assert done["status"] == "completed", done
    return media_id, done


def test_a_tiff_result_is_shown_through_a_copy_and_downloaded_as_itself(
    page: Page, watch: Watch, service: str
) -> None:
    """Browsers cannot show TIFF: the editor shows a WebP copy made at the result's address,
    says so, and its Download is the TIFF itself, named as such."""
    with httpx.Client(base_url=service, timeout=60) as api:
        picture = media.image_bytes("PNG", size=(120, 90))
        uploaded, step = stepped(api, filename="scan.png", content=picture, step="format=tiff")
    page.goto(f"/#/media/{uploaded}")
    expect(page.locator(".step").first).to_have_attribute("data-status", "completed")
    page.wait_for_function("() => document.querySelector('img.head')?.naturalWidth === 120")
    expect(page.locator("img.head")).to_have_attribute("src", re.compile(r"/media/.*format=webp"))
    expect(page.locator(".stage")).to_contain_text("browsers cannot show TIFF")
    download = page.get_by_role("link", name=re.compile("^Download TIFF"))
    expect(download).to_have_attribute("href", step["outputs"][0]["content_url"])
    expect(download).to_have_attribute("download", "scan-edited.tiff")
    # At phone width the steps, undo and redo come before the long list of operations.
    page.set_viewport_size(PHONE)
    assert page.locator(".history").evaluate(ABOVE, page.locator(".ops-panel").element_handle())
    # There, a crop box drawn offers Apply under the picture: the form's is screens below.
    page.locator("details[data-op=crop] summary").click()
    page.locator(".picture").scroll_into_view_if_needed()
    box = page.locator(".picture").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.25)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.75, box["y"] + box["height"] * 0.75, steps=5)
    page.mouse.up()
    apply_here = offered_apply(page, "crop", "under the picture")
    # Refused, it is told in the form, brought into view; pressed again, it is sent.
    watch.expected.append("status of 409")
    refusal = {"detail": "The session has moved on: read it again."}
    page.route("**/edit?*", lambda route: route.fulfill(status=409, json=refusal), times=1)
    apply_here.click()
    told = page.locator("details[data-op=crop] .error")
    expect(told).to_have_text(refusal["detail"])
    expect(told).to_be_in_viewport()
    apply_here.click()
    expect(page.locator(".step .step-ops").first).to_have_text(
        re.compile(r"^crop=30,2[23],60,4[56]$")
    )
    expect(page.locator(".step").first).to_have_attribute("data-status", "completed")
    check_page(page, "editor-tiff")


def test_a_finished_edit_links_to_what_it_made(page: Page, watch: Watch, service: str) -> None:
    """The queue's rows and a workflow's executions link to each result (its editor, its
    bytes), and the library's card of a result says what made it: the media it was made from
    and the operations, since every result is named <source>-edited.<ext>."""
    with httpx.Client(base_url=service, timeout=60) as api:
        picture = media.image_bytes("PNG", size=(80, 60))
        uploaded = api.post("/bucket/upload", params={"filename": "harbour.png"}, content=picture)
        source = uploaded.json()["id"]
        flipped = api.post("/edit", params={"media": source, "flip": "v", "wait": "30"}).json()
        workflow = api.post("/workflows", params={"name": "half-turn", "rotate": "180"}).json()
        run = api.post(f"/workflows/{workflow['id']}/run", params={"media": source, "wait": "30"})
        turned = run.json()
    assert flipped["status"] == turned["status"] == "completed"
    page.goto(f"/#/workflows/{workflow['id']}/executions")
    row = page.locator(f"tr[data-edit='{turned['id']}']")
    expect(row.get_by_role("link", name="harbour-edited.png", exact=True)).to_have_attribute(
        "href", f"#/media/{turned['outputs'][0]['id']}"
    )
    page.goto("/#/queue")
    row = page.locator(f"tr[data-edit='{flipped['id']}']")
    download = row.get_by_role("link", name="Download harbour-edited.png (PNG)")
    expect(download).to_have_attribute("href", flipped["outputs"][0]["content_url"])
    row.get_by_role("link", name="harbour-edited.png", exact=True).click()
    expect(page).to_have_url(re.compile(f"#/media/{flipped['outputs'][0]['id']}$"))
    expect(page.get_by_role("heading", name="harbour-edited.png")).to_be_visible()
    page.goto("/#/library?outputs=1")
    card = page.locator(
        ".card", has=page.locator(f"a[href='#/media/{turned['outputs'][0]['id']}']")
    )
    expect(card.locator(".made-from")).to_contain_text("Made from harbour.png by")
    expect(card.locator(".made-from .written-item")).to_have_text(["rotate=180"])
    expect(card.get_by_role("link", name="harbour.png")).to_have_attribute(
        "href", f"#/media/{source}"
    )
    check_page(page, "library-outputs")


def test_a_step_of_several_stills_shows_each(
    page: Page, watch: Watch, service: str, tmp_path: Path
) -> None:
    """frames=best:3 makes three stills; the step shows all three, each chosen to be seen
    larger, with a link to its own editor and its download."""
    clip = media.write_video(tmp_path / "walk.mp4", acodec=None, seconds=2, size=(96, 72), fps=10)
    with httpx.Client(base_url=service, timeout=60) as api:
        content = clip.read_bytes()
        uploaded, step = stepped(api, filename="walk.mp4", content=content, step="frames=best:3")
        assert len(step["outputs"]) == 3
    page.goto(f"/#/media/{uploaded}")
    choices = page.get_by_role("group", name=re.compile("^3 stills"))
    expect(choices.get_by_role("radio")).to_have_count(3)
    expect(choices.locator(".still-thumb img")).to_have_count(3)
    second = step["outputs"][1]
    choices.get_by_role("radio", name="Still 2").check()
    expect(choices.get_by_role("img", name="Still 2 of 3")).to_have_attribute(
        "src", second["content_url"]
    )
    expect(choices.get_by_role("link", name="Open in its editor")).to_have_attribute(
        "href", f"#/media/{second['id']}"
    )
    expect(choices.get_by_role("link", name="Download")).to_have_attribute(
        "href", second["content_url"]
    )
    check_page(page, "editor-stills")


def test_a_saved_workflow_holds_the_steps_that_made_the_head(
    page: Page, watch: Watch, service: str
) -> None:
    """Flip, rotate, undo, then grey: the rotation was undone and replaced, so the head is a
    grey flip, and that is what the workflow saves; the rotation is marked abandoned. Its name
    is another workflow's, with other operations (409): the editor offers to save the steps as
    that one's next version, rather than quoting the API's way to do it."""
    watch.expected.append("status of 409")
    with httpx.Client(base_url=service, timeout=60) as api:
        api.post("/workflows", params={"name": "flip-grey", "rotate": "90"}).raise_for_status()
        picture = media.image_bytes("PNG", size=(72, 54))  # bytes of its own: no duplicate
        uploaded = api.post("/bucket/upload", params={"filename": "branch.png"}, content=picture)
        session = api.post("/sessions", params={"media": uploaded.json()["id"]}).json()["id"]
        for step in ("flip=h", "rotate=90", "undo", "color=grayscale"):
            if step == "undo":
                api.post(f"/sessions/{session}/undo").raise_for_status()
                continue
            query = f"session={session}&{step}&wait=30"
            assert api.post(f"/edit?{query}").json()["status"] == "completed"
    page.goto(f"/#/media/{uploaded.json()['id']}")
    expect(page.locator(".step")).to_have_count(3)
    # The rotation is told apart: undone and replaced, no part of the head.
    expect(page.locator(".step.abandoned")).to_have_count(1)
    expect(page.locator(".step.abandoned")).to_contain_text("rotate=90")
    expect(page.locator(".step.abandoned")).to_contain_text("abandoned")
    page.get_by_label("Save the steps as a workflow").fill("flip-grey")
    page.get_by_role("button", name="Save as workflow").click()
    expect(page.locator(".save-form")).to_contain_text("already named “flip-grey”")
    expect(page.locator(".save-form")).not_to_contain_text("PUT")
    offer = page.locator(".saved.offer")  # its button on a line of its own, the words around it
    assert offer.evaluate(
        "offer => { const words = document.createRange(); words.selectNode(offer.lastChild);"
        " return words.getBoundingClientRect().top"
        " >= offer.querySelector('button').getBoundingClientRect().bottom; }"
    )
    check_page(page, "editor-name-taken")
    page.get_by_role("button", name="Save as version 2 of flip-grey").click()
    page.get_by_role("link", name="flip-grey (version 2)").click()
    saved = json.loads(page.locator("pre.json").inner_text())
    assert [op["op"] for op in saved["ops"]] == ["flip", "color"]


def test_a_saved_workflow_reads_the_steps_older_than_the_page_the_editor_shows(
    page: Page, service: str
) -> None:
    """The editor reads a session with its newest steps only (steps_limit): here one, so the
    flip that made the head's input is on an older page, which saving must read too."""
    with httpx.Client(base_url=service, timeout=60) as api:
        picture = media.image_bytes("PNG", size=(70, 52))  # bytes of its own: no duplicate
        uploaded = api.post("/bucket/upload", params={"filename": "long.png"}, content=picture)
        session = api.post("/sessions", params={"media": uploaded.json()["id"]}).json()["id"]
        for step in ("flip=h", "color=grayscale"):
            query = f"session={session}&{step}&wait=30"
            assert api.post(f"/edit?{query}").json()["status"] == "completed"

    def one_step_a_page(route: Route) -> None:
        route.continue_(url=f"{route.request.url}?steps_limit=1")

    page.route(re.compile(r"/sessions/[0-9a-f-]{36}$"), one_step_a_page)
    page.goto(f"/#/media/{uploaded.json()['id']}")
    expect(page.locator(".step")).to_have_count(1)
    page.get_by_label("Save the steps as a workflow").fill("flip-grey-paged")
    page.get_by_role("button", name="Save as workflow").click()
    page.get_by_role("link", name="flip-grey-paged (version 1)").click()
    saved = json.loads(page.locator("pre.json").inner_text())
    assert [op["op"] for op in saved["ops"]] == ["flip", "color"]


def test_choosing_media_for_overlay_and_concat_and_editing_sound_alone(
    page: Page, watch: Watch, service: str, tmp_path: Path
) -> None:
    """overlay names an image, concat videos: the editor lists the library's media of that kind
    by picture and name, chosen from the keyboard, and the choice fills the parameter. The
    video's sound alone (audio=extract) is offered no video operation."""
    with httpx.Client(base_url=service, timeout=60) as api:
        ids = {
            name: api.post("/bucket/upload", params={"filename": name}, content=body).json()["id"]
            for name, body in (
                ("base.png", media.image_bytes("PNG", size=(96, 72))),
                ("logo.png", media.image_bytes("PNG", size=(40, 30))),
                ("intro.mp4", media.write_video(tmp_path / "i.mp4", size=(80, 64)).read_bytes()),
            )
        }
    page.goto(f"/#/media/{ids['base.png']}")
    # Opened at the foot of the operations panel (which scrolls on its own), it is scrolled
    # into view within the panel.
    overlay = page.locator("details[data-op=overlay] summary")
    overlay.evaluate("summary => summary.scrollIntoView({ block: 'end' })")
    overlay.click()
    choices = page.get_by_role("group", name="Choose the image")
    logo = choices.get_by_role("radio", name="logo.png")
    expect(choices.get_by_role("radio", name="intro.mp4")).to_have_count(0)
    expect(choices).to_be_in_viewport(ratio=1)
    logo.focus()
    page.keyboard.press("Space")
    expect(page.get_by_label("overlay", exact=True)).to_have_value(ids["logo.png"])
    expect(logo.locator("xpath=..").locator("img")).to_be_visible()  # its picture beside it
    # At desktop width the editor fits the window, so its screenshot is the panel as scrolled.
    assert page.evaluate("document.documentElement.scrollHeight") <= DESKTOP["height"]
    check_page(page, "editor-overlay-picker")
    page.get_by_role("button", name="Apply overlay").click()
    expect(page.locator(".step").first).to_have_attribute("data-status", "completed")
    expect(page.locator(".step-ops").first).to_have_text("overlay=logo.png")

    page.goto(f"/#/media/{ids['intro.mp4']}")
    page.locator("details[data-op=concat] summary").click()
    videos = page.get_by_role("group", name="Choose the videos to append, in order")
    videos.get_by_role("checkbox", name="intro.mp4").check()
    expect(videos.get_by_role("checkbox", name="logo.png")).to_have_count(0)
    expect(page.get_by_label("concat", exact=True)).to_have_value(ids["intro.mp4"])
    page.get_by_role("button", name="Apply concat").click()  # the step names it, not its id
    expect(page.locator(".step").first).to_have_attribute("data-status", "completed")
    expect(page.locator(".step-ops").first).to_have_text("concat=intro.mp4")
    appended = page.locator(".step-ops").first.get_by_role("link", name="intro.mp4")
    expect(appended).to_have_attribute("href", f"#/media/{ids['intro.mp4']}")
    # Its sound alone has no picture, which every video operation works on: none is offered.
    page.locator("details[data-op=audio] summary").click()
    page.get_by_label("audio_format").select_option("m4a")
    page.get_by_role("button", name="Apply audio").click()
    expect(page.locator(".step").first).to_have_attribute("data-status", "completed")
    expect(page.locator("audio")).to_be_visible()
    expect(page.get_by_role("heading", name="No operations for sound alone")).to_be_visible()
    expect(page.locator("details.op")).to_have_count(0)
    check_page(page, "editor-sound-only")


def test_a_video_of_unknown_length_is_trimmed_by_typed_times(
    page: Page, watch: Watch, service: str, module_database_url: str, tmp_path: Path
) -> None:
    """An old upload recorded it as lasting 0 s, which the API answers as null: the editor
    offered a trim of 0,0.000, handles over a made-up 1 s and "0.00 s" (null: "undefined s")."""
    with httpx.Client(base_url=service, timeout=60) as api:
        ids = [
            api.post("/bucket/upload", params={"filename": name}, content=body).json()["id"]
            for name, body in (
                ("known.mp4", media.write_video(tmp_path / "k.mp4", seconds=2.0).read_bytes()),
                ("unknown.mp4", media.write_video(tmp_path / "u.mp4", seconds=1.0).read_bytes()),
            )
        ]
    with psycopg.connect(module_database_url, autocommit=True) as conn:
        conn.execute("UPDATE editroom.media SET duration_seconds = 0 WHERE id = %s", (ids[1],))
    for media_id, told, trim, timelines in (
        (ids[0], "· 2.00 s ·", "0,2.000", 1),
        (ids[1], "· length unknown ·", "", 0),
    ):
        page.goto(f"/#/media/{media_id}")
        expect(page.locator(".stage .facts").first).to_contain_text(told)
        expect(page.get_by_label("trim", exact=True)).to_have_value(trim)
        expect(page.locator(".timeline")).to_have_count(timelines)
    check_page(page, "editor-length-unknown")


def test_sound_alone_has_a_card_that_says_so(
    page: Page, watch: Watch, service: str, tmp_path: Path
) -> None:
    """A video's sound alone (audio=extract) has no frame to show: its card says "Sound only"
    with its length where the picture would be, to a screen reader too, and opens its editor
    from the keyboard as any card does."""
    # Its own tone; a portrait picture, which its card frames 4:3 as any other.
    clip = media.write_video(tmp_path / "hum.mp4", seconds=1.5, size=(48, 64)).read_bytes()
    with httpx.Client(base_url=service, timeout=60) as api:
        uploaded = api.post("/bucket/upload", params={"filename": "hum.mp4"}, content=clip)
        query = {"media": uploaded.json()["id"], "audio": "extract", "wait": "30"}
        extracted = api.post("/edit", params=query).json()
        assert extracted["status"] == "completed"
    sound = extracted["outputs"][0]["id"]
    page.goto("/#/library?type=video&outputs=1")
    opens = page.locator(f".thumb[href='#/media/{sound}']")
    card = page.locator(".card", has=opens)
    expect(opens).to_have_text("Sound only0:01.5")  # the speaker is drawn, not a word
    expect(opens).to_have_accessible_name(re.compile(r"^Edit .+ \(sound only, 1\.5 seconds\)$"))
    expect(card.locator(".facts").first).to_contain_text("sound only")
    expect(card.locator("video")).to_have_count(0)  # no empty frame
    check_page(page, "library-sound-only")
    for frame in page.locator(".thumb").all():
        box = frame.bounding_box()
        assert box is not None and box["width"] / box["height"] == pytest.approx(4 / 3, abs=0.02)
    opens.focus()
    page.keyboard.press("Enter")
    expect(page.locator("audio")).to_be_visible()
    expect(page.get_by_role("heading", name="No operations for sound alone")).to_be_visible()


def test_viewing_the_edit_outputs_makes_no_copies_of_copies(
    page: Page, watch: Watch, service: str
) -> None:
    """The small copy the library shows is an edit's output, listed among the outputs; shown
    there as it is (as is an image no wider than a copy), it gets no copy of its own, however
    often the library is viewed."""
    with httpx.Client(base_url=service) as api:
        made_before = {e["id"] for e in thumbnail_edits(api)}
        wide, narrow = (
            api.post("/bucket/upload", params={"filename": name}, content=picture).json()["id"]
            for name, picture in (
                ("wide.png", media.image_bytes("PNG", size=(960, 640))),
                ("narrow.png", media.image_bytes("PNG", size=(200, 150))),
            )
        )
        for _ in range(2):  # the second view lists the copies the first one made
            page.goto("/#/library?outputs=1")
            expect(page.get_by_role("link", name="Edit wide.png")).to_be_visible()
            page.wait_for_load_state("networkidle")
            settled_completed(api)
        made = [e for e in thumbnail_edits(api) if e["id"] not in made_before]
        # Copies of this test's pictures, or of their copies (others' outputs get their first).
        ours = {wide, narrow}
        copied = [
            e["media_id"] for e in made
            if e["media_id"] in ours
            or api.get(f"/bucket/upload/{e['media_id']}").json()["source_media_id"] in ours
        ]  # fmt: skip
    assert copied == [wide]
    narrow_picture = page.get_by_role("link", name="Edit narrow.png").locator("img")
    expect(narrow_picture).to_have_attribute("src", re.compile(f"/bucket/upload/{narrow}/content$"))


def test_the_queue_lists_copies_made_by_addresses_only_on_request(
    page: Page, watch: Watch, service: str
) -> None:
    """Opening the library makes a thumbnail of each picture by its address: edits the queue
    leaves out until its box is ticked (kept in the address), though its counts count them.
    One asked for by name (POST /edit) from then on is listed, told live."""
    with httpx.Client(base_url=service) as api:
        before = {e["id"] for e in thumbnail_edits(api)}
        picture = media.image_bytes("PNG", size=(900, 600))
        made = api.post("/bucket/upload", params={"filename": "copied.png"}, content=picture)
        wide = made.json()["id"]
        page.goto("/#/library")
        expect(page.get_by_role("link", name="Edit copied.png")).to_be_visible()
        page.wait_for_load_state("networkidle")
        settled_completed(api)
        (thumb,) = [
            e for e in thumbnail_edits(api) if e["id"] not in before and e["media_id"] == wide
        ]
        assert thumb["by_address"] is True
        page.goto("/#/queue")
        box = page.get_by_label("Show copies made by addresses (thumbnails)")
        expect(box).not_to_be_checked()
        expect(page.locator(".counts-note")).to_be_visible()
        row = page.locator(f"tr[data-edit='{thumb['id']}']")
        expect(page.locator("tbody tr").first).to_be_visible()
        expect(row).to_have_count(0)
        # Nothing listed is a copy: the rows' edits, read back, are all asked for by name.
        listed = page.locator("tbody tr[data-edit]").evaluate_all(
            "rows => rows.map(r => r.dataset.edit)"
        )
        assert all(not api.get(f"/edit/{i}").json()["by_address"] for i in listed)
        check_page(page, "queue-without-copies")
        box.check()
        expect(row).to_have_count(1)
        expect(row).to_contain_text("resize=320x")
        expect(page.locator(".counts-note")).to_be_hidden()
        assert "copies=1" in page.url
        check_page(page, "queue-with-copies")
        page.reload()  # the choice is in the address
        expect(page.get_by_label("Show copies made by addresses (thumbnails)")).to_be_checked()
        expect(row).to_have_count(1)
        page.get_by_label("Show copies made by addresses (thumbnails)").uncheck()
        expect(row).to_have_count(0)
        # The library's outputs leave the copy out the same way.
        page.goto("/#/library?outputs=1")
        copy_card = page.get_by_role("link", name="Edit copied-edited.webp")
        expect(page.get_by_role("link", name="Edit copied.png")).to_be_visible()
        expect(copy_card).to_have_count(0)
        page.get_by_label("and copies made by addresses (thumbnails)").check()
        expect(copy_card).to_be_visible()
        assert "copies=1" in page.url
        check_page(page, "library-with-copies")
        page.goto("/#/queue")
        expect(page.locator("tbody tr").first).to_be_visible()
        asked = api.post("/edit", params={"media": wide, "resize": "320x", "format": "webp"})
        assert (asked.json()["id"], asked.json()["by_address"]) == (thumb["id"], False)
        expect(row).to_have_count(1)  # told live: no longer a copy


def thumbnail_edits(api: httpx.Client) -> list[dict[str, Any]]:
    items = api.get("/edit", params={"limit": 500}).json()["items"]
    return [e for e in items if e["query"] == THUMBNAIL_QUERY]


def settled_completed(api: httpx.Client) -> int:
    """How many edits have completed, once none is still to run."""
    deadline = time.monotonic() + 30
    while True:
        stats = {row["status"]: row["count"] for row in api.get("/edit/stats").json()}
        if stats["queued"] + stats["processing"] == 0 or time.monotonic() > deadline:
            return int(stats["completed"])
        time.sleep(0.1)


def test_refusals_are_shown_in_the_api_words(page: Page, watch: Watch, tmp_path: Path) -> None:
    watch.expected.append("status of 415")  # the browser's own note of the refused upload
    watch.expected.append("status of 422")  # of the refused text
    watch.expected.append("status of 404")  # of the media no longer there
    for address in ("/#/media/not-a-uuid", "/#/media/0f8fad5b-d9cb-469f-a165-70867728950e"):
        page.goto(address)  # mistyped, or deleted: said in the app's words, with the way back
        expect(page.get_by_role("heading", name="No media at this address")).to_be_visible()
        expect(page.locator("main")).not_to_contain_text(re.compile("uuid|does not exist", re.I))
    check_page(page, "editor-no-media")
    page.get_by_role("link", name="Back to the library").click()
    expect(page.get_by_role("heading", name="Library")).to_be_visible()
    page.goto("/#/nonsense")  # an address of no page at all: the way back too
    expect(page.get_by_role("heading", name="No page at this address")).to_be_visible()
    page.get_by_role("link", name="Go to the library").click()
    not_media = tmp_path / "notes.png"
    not_media.write_text("these are not the pixels you are looking for")
    page.locator("input[type=file]").set_input_files([not_media])
    expect(page.locator(".upload.refused")).to_contain_text("refused:")
    # Every byte was sent, and refused: its bar is the refusal's red, not the progress's blue.
    refused_bar = page.locator(".upload.refused progress")
    expect(refused_bar).to_have_css("accent-color", "rgb(179, 38, 30)")
    expect(refused_bar).to_have_accessible_name("upload of notes.png: refused")
    picture = tmp_path / "p.png"
    picture.write_bytes(media.image_bytes("PNG", size=(64, 48)))
    page.locator("input[type=file]").set_input_files([picture])
    expect(page.locator(".upload.new")).to_have_count(1)
    page.locator("input[type=file]").set_input_files([picture])
    expect(page.locator(".upload.duplicate")).to_contain_text("duplicate of p.png")
    check_page(page, "library-uploads")
    # Finished rows are dismissed, from the keyboard too; a row still uploading stays.
    page.route(re.compile(r"/bucket/upload\?filename=held\.png"), lambda route: None)  # held
    held = tmp_path / "held.png"
    held.write_bytes(media.image_bytes("PNG", size=(30, 20)))
    page.locator("input[type=file]").set_input_files([held])
    expect(page.locator(".upload").first).to_contain_text("uploading")
    page.get_by_role("button", name="Dismiss the upload of notes.png").press("Enter")
    expect(page.locator(".upload.refused")).to_have_count(0)
    expect(page.locator(".upload.new button")).to_be_focused()  # the next row's Dismiss
    page.get_by_role("button", name="Clear finished uploads").press("Enter")
    expect(page.locator(".upload")).to_have_count(1)
    expect(page.locator(".upload")).to_contain_text("held.png")
    expect(page.get_by_role("button", name="Upload files…")).to_be_focused()
    page.get_by_role("link", name="Edit p.png").click()
    # A box past the 64x48 picture is told beside its field, before anything is sent.
    page.locator("details[data-op=crop] summary").click()
    crop = page.get_by_label("crop", exact=True)
    crop.fill("8,6,32,24")
    expect(page.locator(".crop-box")).to_be_visible()
    crop.fill("0,0,500,500")  # not drawn clipped at the picture's edge: said beside the field
    expect(page.locator(".crop-box")).to_be_hidden()
    crop.press("Tab")
    expect(crop).to_have_attribute("aria-invalid", "true")
    page.get_by_role("button", name="Apply crop").click()
    expect(crop).to_be_focused()
    expect(crop).to_have_attribute("aria-invalid", "true")
    expect(crop).to_have_accessible_description(re.compile("past the 64.48 picture"))
    check_page(page, "editor-crop-refused")
    expect(page.locator(".step")).to_have_count(0)
    # What only the API knows is still told where it happened, in its words.
    page.locator("details[data-op=text] summary").click()
    page.get_by_label("text", exact=True).fill("tab\there")
    page.get_by_role("button", name="Apply text").click()
    expect(page.locator("details[data-op=text]").get_by_role("alert")).to_contain_text("text=")
    # A value's "&" is told from the one between parameters: one operation a line, each
    # parameter its own chip.
    page.get_by_label("text", exact=True).fill("Tom & Jerry")
    # A place is typed or picked from the nine the field offers (an x:y point typed too).
    position = page.get_by_label("text_position")
    offered = position.evaluate("input => [...input.list.options].map(option => option.value)")
    assert offered[:3] == ["top-left", "top", "top-right"] and len(offered) == 9
    position.fill("top")
    page.get_by_role("button", name="Apply text").click()
    written = page.locator(".step").first.locator(".written-op")
    expect(written).to_have_count(1)
    expect(written.locator(".written-item")).to_have_text(["text=Tom & Jerry", "text_position=top"])
    # An edit the runner cannot do fails as a step, with its reason (no face to find).
    page.locator("details[data-op=headshot] summary").click()
    page.get_by_role("button", name="Apply headshot").click()
    failed = page.locator(".step").first
    expect(failed).to_have_attribute("data-status", "failed")
    expect(failed).to_contain_text("failed:")
    # The runner said the same work would fail the same way: no Retry, and the reason why.
    expect(failed).to_contain_text("trying it again would fail the same way")
    expect(failed.get_by_role("button", name="Retry")).to_have_count(0)
    page.get_by_role("link", name="Library").click()
    page.get_by_role("button", name="Delete p.png").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.get_by_role("link", name="Edit p.png")).to_have_count(0)


def test_a_refusal_goes_once_the_session_has_moved_on(
    page: Page, watch: Watch, service: str
) -> None:
    """Undo on an original is refused in words ("nothing to undo: the head is the original");
    once a step has been applied that is no longer true, and is no longer said."""
    watch.expected.append("status of 409")
    with httpx.Client(base_url=service, timeout=60) as api:
        picture = media.image_bytes("PNG", size=(90, 60))
        uploaded = api.post("/bucket/upload", params={"filename": "turned.png"}, content=picture)
    page.goto(f"/#/media/{uploaded.json()['id']}")
    expect(page.locator("img.head")).to_be_visible()
    page.keyboard.press("Control+Z")
    refusal = page.locator(".history").get_by_role("alert")
    expect(refusal).to_have_text(re.compile("nothing to undo"))
    page.get_by_role("button", name="Rotate right").click()
    expect(page.locator(".step").first).to_have_attribute("data-status", "completed")
    expect(refusal).to_be_hidden()


def test_deleting_cards_from_the_keyboard_keeps_the_place_and_says_when_none_is_left(
    page: Page, watch: Watch, service: str, module_database_url: str
) -> None:
    """Two pictures of a day of their own, each card's Select named by its media (as its
    Delete is: not "Select" twice to a screen reader); the first deleted from the keyboard
    leaves the focus on the other's Delete, not on the page's top; the other deleted, the
    library says it has no media of that day, as it does when it opens so."""
    with httpx.Client(base_url=service, timeout=60) as api:
        answers = [
            api.post(
                "/bucket/upload", params={"filename": name},
                content=media.image_bytes("PNG", size=(137 + index, 91)),
            ).json()
            for index, name in enumerate(("first.png", "second.png"))
        ]  # fmt: skip
    assert [answer["duplicate"] for answer in answers] == [False, False]  # named as sent
    ids = [answer["id"] for answer in answers]
    with psycopg.connect(module_database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE editroom.media SET uploaded_at = '2001-02-03T12:00Z' WHERE id = ANY(%s)",
            [ids],
        )
    page.goto("/#/library?uploadedAt=2001-02-03")
    expect(page.locator(".card")).to_have_count(2)
    expect(page.get_by_role("checkbox", name="Select first.png", exact=True)).to_have_count(1)
    for name, after in (("second.png", "Delete first.png"), ("first.png", "Upload files…")):
        page.get_by_role("button", name=f"Delete {name}").focus()
        page.keyboard.press("Enter")
        expect(page.get_by_role("dialog")).to_be_visible()
        page.get_by_role("dialog").get_by_role("button", name="Delete").press("Enter")
        expect(page.get_by_role("button", name=after)).to_be_focused()
    expect(page.locator(".card")).to_have_count(0)
    expect(page.locator(".grid")).to_have_text(
        "No media uploaded on 2001-02-03. Change the filters above to see more."
    )


def test_a_batch_run_leaves_out_the_selected_media_the_workflow_does_not_fit(
    page: Page, watch: Watch, service: str, tmp_path: Path
) -> None:
    """Two pictures and a video selected in the library, a workflow that crops images: the
    picture runs; the video, and the picture smaller than the crop, are left out, each said by
    name with why in the API's words. The page left out only the video (it judged kinds
    itself), and the API refused the whole batch for the small picture, naming it by its id.
    The small picture is named "crop", a word of its reason: the page dropped the name of a
    media its reason seemed to name already."""
    clip = media.write_video(
        tmp_path / "batch-clip.webm", container="webm", vcodec="libvpx-vp9", acodec=None,
        seconds=1.0, size=(96, 64), fps=10,
    )  # fmt: skip
    with httpx.Client(base_url=service, timeout=60) as api:
        for name, size in (("batch-picture.png", (151, 97)), ("crop", (40, 80))):
            api.post(
                "/bucket/upload", params={"filename": name},
                content=media.image_bytes("PNG", size=size),
            ).raise_for_status()  # fmt: skip
        api.post(
            "/bucket/upload", params={"filename": clip.name}, content=clip.read_bytes()
        ).raise_for_status()
        workflow = api.post(
            "/workflows", params={"name": "batch-crop", "crop": "0,0,100,60", "kind": "image"}
        ).json()
    page.goto("/#/library")
    for name in ("batch-picture.png", "crop", clip.name):
        page.get_by_role("checkbox", name=f"Select {name}", exact=True).check()
    page.goto(f"/#/workflows/{workflow['id']}/runs")
    expect(page.locator(".toolbar .facts")).to_have_text(
        "Media the workflow does not fit are left out, each with the reason."
    )
    page.get_by_role("button", name="Run on the 3 selected in the library").click()
    expect(page.locator(".saved")).to_contain_text("1 edit queued.")
    left_out = page.locator(".saved .left-out")
    expect(left_out.locator("p")).to_have_text(
        "2 selected were left out, as the workflow does not fit them:"
    )
    expect(left_out.locator("li")).to_have_text([
        "crop: the workflow's crop=0,0,100,60: reaches past the right edge (x + w = 100) of "
        "the 40x80 picture.",
        "batch-clip.webm: it is a video, and workflow batch-crop works on images.",
    ])  # fmt: skip
    expect(page.locator(".error")).to_be_hidden()
    check_page(page, "workflow-left-out")


def test_a_batch_run_with_every_selected_media_left_out_says_nothing_ran_and_why(
    page: Page, watch: Watch, service: str
) -> None:
    """The API refuses a batch it left every media out of (nothing to run) with each one's
    reason: the page says so in its live region, not as an error of its own."""
    with httpx.Client(base_url=service, timeout=60) as api:
        api.post(
            "/bucket/upload", params={"filename": "too-narrow.png"},
            content=media.image_bytes("PNG", size=(30, 90)),
        ).raise_for_status()  # fmt: skip
        workflow = api.post(
            "/workflows", params={"name": "wide-crop", "crop": "0,0,50,50", "kind": "image"}
        ).json()
    page.goto("/#/library")
    page.get_by_role("checkbox", name="Select too-narrow.png", exact=True).check()
    page.goto(f"/#/workflows/{workflow['id']}/runs")
    watch.expected.append("status of 422")  # the browser's own note of the refused batch
    page.get_by_role("button", name="Run on the 1 selected in the library").click()
    expect(page.locator(".saved > p").first).to_have_text("Nothing was run.")
    expect(page.locator(".saved .left-out")).to_have_text(
        "1 selected was left out, as the workflow does not fit it:"
        "too-narrow.png: the workflow's crop=0,0,50,50: reaches past the right edge (x + w = "
        "50) of the 30x90 picture."
    )
    expect(page.locator(".error")).to_be_hidden()


def test_a_batch_run_says_of_sound_alone_left_out_what_it_is(
    page: Page, watch: Watch, service: str, tmp_path: Path
) -> None:
    """A video and its sound alone (audio=extract) selected, a workflow for videos: the sound
    alone is left out, said in a sentence with the media as its subject. Its refusal's problem
    was the predicate alone ("is sound alone"), which the page wrote after the name and a
    colon: "hum.mp4: is sound alone"."""
    clip = media.write_video(tmp_path / "hum.mp4", seconds=1.0, size=(48, 64)).read_bytes()
    with httpx.Client(base_url=service, timeout=60) as api:
        video = api.post("/bucket/upload", params={"filename": "hum.mp4"}, content=clip).json()
        query = {"media": video["id"], "audio": "extract", "wait": "30"}
        extracted = api.post("/edit", params=query).json()
        assert extracted["status"] == "completed"
        workflow = api.post(
            "/workflows", params={"name": "half", "trim": "0,0.5", "kind": "video"}
        ).json()
    sound = extracted["outputs"][0]["id"]
    page.goto("/#/library?type=video&outputs=1")
    for media_id in (video["id"], sound):
        page.locator(".card", has=page.locator(f".thumb[href='#/media/{media_id}']")).get_by_role(
            "checkbox"
        ).check()
    page.goto(f"/#/workflows/{workflow['id']}/runs")
    page.get_by_role("button", name="Run on the 2 selected in the library").click()
    expect(page.locator(".saved")).to_contain_text("1 edit queued.")
    expect(page.locator(".saved .left-out li")).to_have_text(
        "hum-edited.m4a: it is sound alone (no picture); video operations need a picture."
    )
    expect(page.locator(".error")).to_be_hidden()


def test_skip_to_content_keeps_the_page(page: Page, watch: Watch) -> None:
    """The first Tab is "Skip to content": followed, the focus is on the page, and the page
    and its address are still the queue's (it had become #page, "No page at this address")."""
    page.goto("/#/queue?status=failed")
    expect(page.get_by_role("heading", name="Queue")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    expect(page.get_by_role("heading", name="Queue")).to_be_visible()
    assert page.url.endswith("/#/queue?status=failed")
    page.keyboard.press("Tab")  # on into the page, past the top bar
    assert page.evaluate("document.getElementById('page').contains(document.activeElement)")


def test_a_link_followed_from_the_keyboard_leaves_the_focus_on_the_new_page(
    page: Page, watch: Watch, service: str
) -> None:
    """A card's link followed with Enter replaces the library with the editor: the focus goes
    to the new page, and the next Tab is in it, not back at the window's top. The new page is
    shown from its top, the top bar in view (at phone width the editor is longer than the
    window: focusing its start scrolled the bar out of sight)."""
    with httpx.Client(base_url=service, timeout=60) as api:
        picture = media.image_bytes("PNG", size=(52, 39))
        api.post("/bucket/upload", params={"filename": "followed.png"}, content=picture)
    page.set_viewport_size(PHONE)
    page.goto("/#/library")
    page.get_by_role("link", name="Edit followed.png").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="followed.png")).to_be_visible()
    expect(page.locator("main")).to_be_focused()
    expect(page.get_by_role("navigation", name="Main")).to_be_in_viewport()
    page.keyboard.press("Tab")
    assert page.evaluate("document.getElementById('page').contains(document.activeElement)")


# The contrast of the focused element's ring with the background it is drawn on (the first
# ancestor's that is not transparent), as WCAG computes contrast.
FOCUS_RING_CONTRAST = """() => {
  const rgb = (text) => text.match(/[\\d.]+/g).slice(0, 4).map(Number);
  const luminance = (text) => {
    const [r, g, b] = rgb(text).slice(0, 3).map((v) => v / 255)
      .map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const focused = document.activeElement;
  let around = focused.parentElement;
  while (rgb(getComputedStyle(around).backgroundColor)[3] === 0) around = around.parentElement;
  const [one, other] = [getComputedStyle(focused).outlineColor,
    getComputedStyle(around).backgroundColor].map(luminance).sort((a, b) => b - a);
  return (one + 0.05) / (other + 0.05);
}"""


def test_the_focus_ring_stands_out_from_what_is_around_it(page: Page, watch: Watch) -> None:
    """The ring that shows where the keyboard is has at least 3:1 contrast with the background
    it is drawn on (WCAG 1.4.11), on the light page and in the dark top bar (its amber was
    2:1 on white)."""
    page.goto("/#/library")
    expect(page.get_by_role("heading", name="Library")).to_be_visible()
    for control in (
        page.get_by_role("button", name="Upload files…"),
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Queue"),
    ):
        control.focus()
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Tab")  # focused from the keyboard: the ring is shown
        expect(control).to_be_focused()
        assert page.evaluate(FOCUS_RING_CONTRAST) >= 3


def eight_steps(service: str, *, size: tuple[int, int], filename: str) -> str:
    """A picture uploaded and a session of eight flips made on it, each waited for: a history
    longer than the window. Returns the picture's id."""
    with httpx.Client(base_url=service, timeout=60) as api:
        picture = media.image_bytes("PNG", size=size)
        uploaded = api.post("/bucket/upload", params={"filename": filename}, content=picture)
        session = api.post("/sessions", params={"media": uploaded.json()["id"]}).json()["id"]
        for axis in "hvhvhvhv":
            api.post(f"/edit?session={session}&flip={axis}&wait=30").raise_for_status()
    return str(uploaded.json()["id"])


def test_a_refused_save_is_told_beside_the_name(page: Page, watch: Watch, service: str) -> None:
    """Eight steps make the history longer than the window: a name the API refuses (blank) is
    told beside the name and its Save, where the person is, not above the steps."""
    watch.expected.append("status of 422")
    page.goto(f"/#/media/{eight_steps(service, size=(70, 50), filename='eight.png')}")
    expect(page.locator(".step[data-status=completed]")).to_have_count(8)
    page.get_by_label("Save the steps as a workflow").fill("   ")
    page.get_by_role("button", name="Save as workflow").click()
    refusal = page.get_by_role("alert").filter(has_text="is required")
    expect(refusal).to_be_in_viewport()
    expect(page.locator(".save-form")).to_contain_text("is required")


def test_long_words_are_broken_in_tables(page: Page, watch: Watch, service: str) -> None:
    """A workflow named with one long word, and a text of one: the workflows list still fits
    the window at both widths, each cell its content (the name had widened the page to
    1,700 px, and a chip of the text spilt out of its cell at phone width)."""
    with httpx.Client(base_url=service, timeout=60) as api:
        api.post(
            "/workflows",
            json={"name": "quarterly_thumbnails_for_the_marketing_team_" * 4,
                  "ops": [{"op": "text", "text": "Hello_" + "x" * 150}]},
        ).raise_for_status()  # fmt: skip
    page.goto("/#/workflows")
    expect(page.get_by_role("link", name=re.compile("^quarterly_thumbnails"))).to_be_visible()
    for size in (DESKTOP, PHONE):
        page.set_viewport_size(size)
        assert page.evaluate(OVERFLOWING) == [], size


def test_a_time_keeps_its_unit_in_a_crowded_queue(page: Page, watch: Watch, service: str) -> None:
    """An edit of one long text in the queue: the table wants more than the window's width, and
    every column is squeezed, the Took column to a digit's width ("2." over "1 s"). At both
    widths each time stays on one line with its unit (check_page looks)."""
    with httpx.Client(base_url=service, timeout=60) as api:
        picture = media.image_bytes("PNG", size=(1600, 120))
        uploaded = api.post("/bucket/upload", params={"filename": "crowded.png"}, content=picture)
        words = "_".join(["a_caption_of_many_words"] * 6)
        made = api.post(f"/edit?media={uploaded.json()['id']}&text={words}&wait=30").json()
        assert made["status"] == "completed", made["error"]
    page.goto("/#/queue")
    took = page.locator(f"tr[data-edit='{made['id']}'] td[data-label=Took]")
    expect(took).to_have_text(re.compile(r"^\d+(\.\d)?\s(ms|s)$"))
    check_page(page, "queue-crowded")


# How a row of a desktop table shares its width: the lines its Queued time takes, and whether
# its first result's name is cut short (an ellipsis).
ROW_ROOM = """(id) => {
  const row = document.querySelector(`tr[data-edit="${id}"]`);
  const cell = (label) => row.querySelector(`td[data-label="${label}"]`);
  const range = document.createRange();
  range.selectNodeContents(cell("Queued"));
  const name = cell("Result").querySelector(".media-name");
  return {
    queued_lines: new Set([...range.getClientRects()].map((rect) => Math.round(rect.top))).size,
    result_cut: name ? name.scrollWidth > name.clientWidth : null,
  };
}"""


def test_a_crowded_table_keeps_its_times_and_results_readable(
    page: Page, watch: Watch, service: str
) -> None:
    """A long text's chip and a long failure's reason in the queue (and the chip in a workflow's
    executions): the Status and Operations columns are bounded, so the Queued time reads on one
    line at desktop width (it took three, "Dec 7," "2026," "2:17 PM"), two at most, the date
    over the time, in a narrower window, and the result's name is shown whole (it was cut,
    "wide-table-edi…"). Down to the narrowest desktop table (901 px) the page never scrolls
    sideways: there a long name may be cut, whole in its title. The phone's cards are as they
    were (check_page looks at both)."""
    words = "_".join(["a_caption_of_many_words"] * 6)
    with httpx.Client(base_url=service, timeout=60) as api:
        picture = media.image_bytes("PNG", size=(1500, 110))  # not crowded.png: its own media
        uploaded = api.post(
            "/bucket/upload", params={"filename": "wide-table.png"}, content=picture
        )
        source = uploaded.json()["id"]
        failed = api.post(f"/edit?media={source}&headshot=&text=x_{words}&wait=30").json()
        assert failed["status"] == "failed", failed
        made = api.post(f"/edit?media={source}&text={words}&wait=30").json()
        assert made["status"] == "completed", made["error"]
        workflow = api.post("/workflows", json={
            "name": "wide-table", "ops": [{"op": "text", "text": f"y_{words}"}],
        }).json()  # fmt: skip
        ran = api.post(f"/workflows/{workflow['id']}/run?media={source}&wait=30").json()
        assert ran["status"] == "completed", ran
    page.goto("/#/queue")
    expect(page.locator(f"tr[data-edit='{made['id']}'] .results .media-name")).to_have_text(
        "wide-table-edited.png"
    )
    roomy = [page.evaluate(ROW_ROOM, edit["id"]) for edit in (made, failed)]
    assert [room["queued_lines"] for room in roomy] == [1, 1], roomy
    assert roomy[0]["result_cut"] is False, roomy
    for width in (NARROW_DESKTOP["width"], NARROWEST_TABLE_WIDTH):
        page.set_viewport_size(ViewportSize(width=width, height=800))
        narrow = [page.evaluate(ROW_ROOM, edit["id"]) for edit in (made, failed)]
        assert max(room["queued_lines"] for room in narrow) <= 2, (width, narrow)
        assert page.evaluate(OVERFLOWING) == [], width
        result = page.locator(f"tr[data-edit='{made['id']}'] .results .result-open")
        expect(result).to_have_attribute("title", "wide-table-edited.png")
    page.set_viewport_size(NARROW_DESKTOP)
    check_page(page, "queue-crowded-columns")
    page.goto(f"/#/workflows/{workflow['id']}/executions")
    expect(page.locator(f"tr[data-edit='{ran['id']}'] .results .media-name")).to_have_text(
        "wide-table-edited.png"
    )
    room = page.evaluate(ROW_ROOM, ran["id"])
    assert (room["queued_lines"], room["result_cut"]) == (1, False), room
    check_page(page, "executions-crowded-columns")


# A request of the UI for media rows: the listing (GET /bucket/upload?id=...), or one media
# (GET /bucket/upload/{id}); not its bytes (/content), which thumbnails and videos read.
MEDIA_READ = re.compile(r"/bucket/upload(/[0-9a-f-]{36})?$")


def media_reads(page: Page) -> list[str]:
    """The addresses of the page's media reads (MEDIA_READ) from now on, as they are asked."""
    reads: list[str] = []

    def read(request: Request) -> None:
        if MEDIA_READ.search(request.url.split("?")[0]):
            reads.append(request.url)

    page.on("request", read)
    return reads


def test_the_queue_reads_the_media_it_shows_in_one_request(
    page: Page, watch: Watch, service: str
) -> None:
    """A queue of many edits asks for their media (each edit's source and result) in one
    listing, not once each (it made one request a media, a hundred for a full page); a result
    deleted since is shown as deleted, without a request that fails (a 404 the browser logs).
    An edit that arrives live is read with the listing too."""
    edits = []
    with httpx.Client(base_url=service, timeout=60) as api:
        for index in range(8):
            picture = media.image_bytes("PNG", size=(40 + index, 30))
            uploaded = api.post("/bucket/upload", params={"filename": f"many-{index}.png"},
                                content=picture).json()  # fmt: skip
            made = api.post(f"/edit?media={uploaded['id']}&flip=h&wait=30").json()
            assert made["status"] == "completed", made["error"]
            edits.append(made)
        gone = edits[0]["outputs"][0]["id"]
        assert api.delete(f"/bucket/upload/{gone}").status_code == 204
    reads = media_reads(page)
    failed: list[str] = []
    page.on("response", lambda response: failed.extend([response.url] * (response.status == 404)))
    page.goto("/#/queue")
    for index, made in enumerate(edits[1:], start=1):
        row = page.locator(f"tr[data-edit='{made['id']}']")
        expect(row.locator(".results .media-name")).to_have_text(f"many-{index}-edited.png")
        expect(row.locator("td[data-label=Media] .media-name")).to_have_text(f"many-{index}.png")
    deleted = page.locator(f"tr[data-edit='{edits[0]['id']}'] .results")
    expect(deleted).to_have_text("result: deleted")
    page.wait_for_load_state("networkidle")
    one_by_one = [url for url in reads if "?" not in url]
    listings = [url for url in reads if "?" in url]
    assert (one_by_one, len(listings)) == ([], 1), reads
    assert all(made["media_id"] in listings[0] for made in edits), listings
    assert failed == []
    with httpx.Client(base_url=service, timeout=60) as api:
        picture = media.image_bytes("PNG", size=(60, 30))
        uploaded = api.post("/bucket/upload", params={"filename": "many-live.png"},
                            content=picture).json()  # fmt: skip
        live = api.post(f"/edit?media={uploaded['id']}&flip=h&wait=30").json()
    row = page.locator(f"tr[data-edit='{live['id']}']")
    expect(row.locator(".results .media-name")).to_have_text("many-live-edited.png")
    expect(row.locator("td[data-label=Media] .media-name")).to_have_text("many-live.png")
    assert [url for url in reads if "?" not in url] == [], reads
    assert failed == []


def test_the_workflows_list_reads_the_media_its_operations_name_in_one_request(
    page: Page, watch: Watch, service: str
) -> None:
    """Workflows whose operations name a media (overlay's image) show it by its name: read in
    one listing for the page, not once each (it was a request a media)."""
    names = []
    with httpx.Client(base_url=service, timeout=60) as api:
        for index in range(3):
            picture = media.image_bytes("PNG", size=(20 + index, 20))
            logo = api.post("/bucket/upload", params={"filename": f"mark-{index}.png"},
                            content=picture).json()  # fmt: skip
            created = api.post("/workflows", json={
                "name": f"marked-{index}", "ops": [{"op": "overlay", "media": logo["id"]}],
            })  # fmt: skip
            assert created.status_code == 201, created.text
            names.append(f"mark-{index}.png")
    reads = media_reads(page)
    page.goto("/#/workflows")
    for name in names:
        expect(page.get_by_role("link", name=name, exact=True)).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert ([url for url in reads if "?" not in url], len(reads)) == ([], 1), reads


# Every text a screen reader is told on the page from now on: each change inside a live region
# (aria-live other than off, or a role that is live: status, alert, log), as the region reads.
RECORD_TOLD = """() => {
  window.told = [];
  const live = "[aria-live]:not([aria-live=off]), [role=status], [role=alert], [role=log]";
  const region = (node) => (node.nodeType === 1 ? node : node.parentElement)?.closest(live);
  new MutationObserver((changes) => {
    for (const changed of new Set(changes.map((c) => region(c.target)))) {
      const text = changed?.textContent.trim();
      if (text) window.told.push(text);
    }
  }).observe(document.body, { childList: true, characterData: true, subtree: true,
                              attributes: true });
}"""


def test_the_queue_tells_a_screen_reader_what_matters_not_every_count(
    page: Page, watch: Watch, service: str
) -> None:
    """The queue's counts change at every step of every edit; a screen reader was read each
    change of them (and of the top bar's). Two edits made and a third that fails: it is told
    that an edit failed, and nothing else (that the queue is empty again too, when it is: other
    tests' edits may still be waiting, so that is checked on its own, below)."""
    page.goto("/#/queue")
    expect(page.locator(".counts dd[data-status=completed]")).to_be_visible()
    page.wait_for_load_state("networkidle")
    page.evaluate(RECORD_TOLD)
    with httpx.Client(base_url=service, timeout=60) as api:
        picture = media.image_bytes("PNG", size=(69, 53))  # no face: a headshot fails
        uploaded = api.post("/bucket/upload", params={"filename": "told.png"}, content=picture)
        for query in ("flip=h", "flip=v", "headshot"):
            api.post(f"/edit?media={uploaded.json()['id']}&{query}&wait=30").raise_for_status()
    page.wait_for_function("() => window.told.some((t) => t.startsWith('1 edit failed'))")
    told = page.evaluate("() => window.told")
    assert all(re.search(r"edits? failed|queue is empty", text) for text in told), told


def test_the_queue_s_news_are_told_together_at_most_every_ten_seconds(
    page: Page, watch: Watch
) -> None:
    """What the queue's page tells a screen reader (components/news.js), fed counts as the
    stream sends them, on a clock the test moves: counts that only move, nothing; the first
    failure at once; what follows within ten seconds (two more failures, the queue emptied)
    together, once the ten seconds are over."""
    page.clock.install()
    page.goto("/#/queue")
    expect(page.get_by_role("heading", name="Queue")).to_be_visible()
    page.evaluate(
        "async () => { const { queueNews } = await import('/ui/components/news.js');"
        " window.news = queueNews(); document.body.append(window.news.element); }"
    )

    def hear(**counts: int) -> str:
        page.evaluate("(counts) => window.news.heard(counts)", counts)
        page.clock.run_for(1)
        return str(page.evaluate("() => window.news.element.textContent"))

    assert hear(queued=3, failed=0) == ""
    assert hear(queued=1, processing=2, completed=1, failed=0) == ""
    failed_once = '1 edit failed: choose Show "failed" to see why.'
    assert hear(processing=2, completed=1, failed=1) == failed_once
    assert hear(completed=2, failed=3) == failed_once  # within ten seconds of the last told
    page.clock.run_for(9_000)
    assert page.evaluate("() => window.news.element.textContent") == failed_once
    page.clock.run_for(1_000)
    assert page.evaluate("() => window.news.element.textContent") == (
        '2 edits failed: choose Show "failed" to see why.'
        " The queue is empty: nothing is running or waiting."
    )


def test_an_upload_of_a_long_name_keeps_its_row(page: Page, watch: Watch, tmp_path: Path) -> None:
    """A file named with one long word: its upload's outcome (a link named by the file) is
    broken within its row at both widths, not spilt over Dismiss and past the window."""
    named = tmp_path / ("a_long_name_from_a_phone_camera_export_" * 4 + ".png")
    named.write_bytes(media.image_bytes("PNG", size=(57, 43)))
    page.goto("/#/library")
    page.locator("input[type=file]").set_input_files([named])
    row = page.locator(".upload").first
    expect(row.locator(".outcome")).to_contain_text("a_long_name")
    for size in (DESKTOP, PHONE):
        page.set_viewport_size(size)
        assert page.evaluate(OVERFLOWING) == [], size
        assert row.locator(".outcome").evaluate(
            ABOVE_OR_BEFORE, row.locator("button").element_handle()
        ), size


# Whether one element ends before another begins, across or down.
ABOVE_OR_BEFORE = """(one, other) => {
  const [a, b] = [one.getBoundingClientRect(), other.getBoundingClientRect()];
  return a.right <= b.left || a.bottom <= b.top;
}"""


def test_seven_editor_tabs_all_work(page: Page, watch: Watch, service: str) -> None:
    """Seven tabs of the editor in one browser, which opens six connections to a host at most
    over HTTP/1.1, and an event stream holds one for good: each tab shows its media, and a step
    applied in the first is seen live in the last. With two streams per editor, the third tab
    never opened, and no tab's requests were answered any more; with one per tab, the seventh.
    The tab holding the one stream closed, another opens it: a step is still seen live."""
    with httpx.Client(base_url=service, timeout=60) as api:
        picture = media.image_bytes("PNG", size=(64, 40))
        uploaded = api.post("/bucket/upload", params={"filename": "tabs.png"}, content=picture)
    tabs = [page, *(page.context.new_page() for _ in range(6))]
    for tab in tabs:
        tab.goto(f"/#/media/{uploaded.json()['id']}")
        expect(tab.get_by_role("button", name="Rotate right")).to_be_visible(timeout=5_000)
    tabs[0].get_by_role("button", name="Rotate right").click()
    expect(tabs[-1].locator(".step").first).to_have_attribute(
        "data-status", "completed", timeout=10_000
    )
    tabs[0].close()
    tabs[1].get_by_role("button", name="Flip vertically").click()
    expect(tabs[-1].locator(".step")).to_have_count(2, timeout=10_000)
    expect(tabs[-1].locator(".step").first).to_have_attribute(
        "data-status", "completed", timeout=10_000
    )


# A page served over plain http from a host other than loopback is not a secure context, and
# has no Web Locks: made so here before the page's scripts run.
NO_WEB_LOCKS = "Object.defineProperty(Navigator.prototype, 'locks', { get: () => undefined });"
# A page that runs nothing else for six seconds (as a tab the browser has frozen, or one busy).
BUSY_FOR_SIX_SECONDS = (
    "() => setTimeout(() => { const end = Date.now() + 6000; while (Date.now() < end); }, 0)"
)


def pages_of_streams(pages: list[Page]) -> Callable[[Request], None]:
    """Keeps the page of each event stream's request in `pages`."""

    def keep(request: Request) -> None:
        if "/events" in request.url:
            pages.append(request.frame.page)

    return keep


def test_eight_tabs_without_web_locks_share_one_stream(browser: Browser, service: str) -> None:
    """Eight tabs of the queue in a browser without Web Locks (plain http to another host): the
    tabs elect one to open the event stream and tell the others, so each sees an edit made
    elsewhere live (with a stream each, the seventh tab never got a connection). The leader
    silent for six seconds (its page busy), another takes over, and the silent one, back, hears
    of it and closes its stream; the new leader closed (it says so), another takes over at
    once: each time an edit is seen live by every tab still open."""
    context = browser.new_context(base_url=service, viewport=DESKTOP)
    context.add_init_script(NO_WEB_LOCKS)
    streams: list[Page] = []
    ended: list[Page] = []
    context.on("request", pages_of_streams(streams))
    context.on("requestfailed", pages_of_streams(ended))
    tabs = [context.new_page() for _ in range(8)]
    watches = [Watch(tab, service) for tab in tabs]
    try:
        for tab in tabs:
            tab.goto("/#/queue")
            expect(tab.get_by_role("heading", name="Queue")).to_be_visible(timeout=5_000)
        assert tabs[0].evaluate("() => navigator.locks") is None
        with httpx.Client(base_url=service, timeout=60) as api:
            picture = media.image_bytes("PNG", size=(59, 41))
            uploaded = api.post("/bucket/upload", params={"filename": "eight.png"}, content=picture)

            def seen_by(seeing: list[Page], query: str) -> None:
                edit = api.post(f"/edit?media={uploaded.json()['id']}&{query}").json()
                for tab in seeing:
                    row = tab.locator(f"tr[data-edit='{edit['id']}']")
                    expect(row).to_have_attribute("data-status", "completed", timeout=10_000)

            seen_by(tabs, "flip=h")
            assert len(streams) == 1, f"{len(streams)} streams for eight tabs"
            silent = streams[0]
            silent.evaluate(BUSY_FOR_SIX_SECONDS)
            seen_by(tabs, "flip=v")
            expect(silent.locator("tr[data-edit]").first).to_be_visible()  # back
            deadline = time.monotonic() + 10
            while silent not in ended and time.monotonic() < deadline:
                tabs[-1].wait_for_timeout(100)
            assert len(streams) == 2 and streams[1] is not silent
            assert ended == [silent], "the leader back from its silence kept its stream"
            closed = streams[1]
            closed.close()
            seen_by([tab for tab in tabs if tab is not closed], "rotate=90")
            assert len(streams) == 3 and streams[2] is not closed
        assert [watch.problems for watch in watches] == [[]] * 8
    finally:
        context.close()


def waiting_to_retry(edit: dict[str, Any], *, seconds: float) -> dict[str, Any]:
    """An edit as the API tells one whose trial failed and that is retried after a back-off of
    `seconds` (a session's step, as its session lists it, says nothing of when)."""
    told = {**edit, "status": "error", "trial": 1, "max_trials": 3, "error": "storage timed out"}
    if "run_after" in edit:
        told["run_after"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + seconds))
    return told


def test_a_retry_s_back_off_is_told_as_it_runs_down(page: Page, watch: Watch, service: str) -> None:
    """An edit waiting 30 s to retry: the queue counts the wait down (it said "retrying in
    30 s" until the edit changed), and the editor opened then, whose session does not say
    when, says "retrying soon" (it said "retrying in NaN s")."""
    with httpx.Client(base_url=service, timeout=60) as api:
        picture = media.image_bytes("PNG", size=(48, 36))
        media_id, done = stepped(api, filename="backoff.png", content=picture, step="flip=v")

    def listed_waiting(route: Route) -> None:
        listing = route.fetch().json()
        listing["items"] = [
            waiting_to_retry(e, seconds=30) if e["id"] == done["id"] else e
            for e in listing["items"]
        ]
        route.fulfill(json=listing)

    page.route(re.compile(r"/edit\?"), listed_waiting)
    page.goto("/#/queue")
    detail = page.locator(f"tr[data-edit='{done['id']}'] td[data-label='Status'] .detail")
    expect(detail).to_contain_text(re.compile(r"retrying in (30|29) s"))
    expect(detail).to_contain_text(re.compile(r"retrying in 2[0-8] s"), timeout=5_000)

    def session_waiting(route: Route) -> None:
        session = route.fetch().json()
        session["steps"] = [waiting_to_retry(step, seconds=30) for step in session["steps"]]
        route.fulfill(json=session)

    page.route(re.compile(r"/sessions/[0-9a-f-]{36}$"), session_waiting)
    page.goto(f"/#/media/{media_id}")
    expect(page.locator(".step .detail").filter(has_text="trial")).to_have_text(
        "trial 1 of 3, retrying soon: storage timed out"
    )


def cancel_is_refused_in(page: Page, place: Locator) -> None:
    """Cancel pressed in `place` (a step, a row shown still queued, finished since) once the
    page has read its state (so `place` stays put): the API's refusal is told there, in view."""
    page.wait_for_load_state("networkidle")
    place.get_by_role("button", name="Cancel").click()
    refusal = page.get_by_role("alert").filter(has_text="can no longer be cancelled")
    expect(refusal).to_be_in_viewport()
    expect(place).to_contain_text("can no longer be cancelled")


def test_a_refused_cancel_is_told_on_its_step(page: Page, watch: Watch, service: str) -> None:
    """The first of eight steps, shown still queued (as a read made just before it finished
    would), is cancelled: the API refuses (it has completed since), which is told on that step,
    at the foot of the list where the person is, not above the steps a screen away."""
    watch.expected.append("status of 409")
    picture = eight_steps(service, size=(74, 50), filename="late.png")

    def first_still_queued(route: Route) -> None:
        read = route.fetch().json()
        read["steps"] = [{**s, "status": "queued"} if s["step"] == 1 else s for s in read["steps"]]
        route.fulfill(json=read)

    page.route(re.compile(r"/sessions/[0-9a-f-]{36}$"), first_still_queued)
    page.goto(f"/#/media/{picture}")
    first = page.locator(".step").last
    expect(first).to_have_attribute("data-status", "queued")
    cancel_is_refused_in(page, first)


def test_the_delete_dialog_fits_a_phone(page: Page, watch: Watch, service: str) -> None:
    """At phone width, Delete's dialog fits the window, its buttons whole, for a short name
    and for one long word (its title did not wrap: the dialog grew past the window's edge,
    Delete cut off)."""
    with httpx.Client(base_url=service, timeout=60) as api:
        for index, name in enumerate(("dot.png", "holiday_photos_from_the_beach_" * 4 + ".png")):
            picture = media.image_bytes("PNG", size=(21 + index, 17))
            api.post("/bucket/upload", params={"filename": name}, content=picture)
    page.set_viewport_size(PHONE)
    page.goto("/#/library")
    for name in ("dot.png", "holiday_photos_from_the_beach_" * 4 + ".png"):
        page.get_by_role("button", name=f"Delete {name}").click()
        dialog = page.get_by_role("dialog")
        for button in ("Keep it", "Delete"):
            expect(dialog.get_by_role("button", name=button)).to_be_in_viewport(ratio=1)
        dialog.get_by_role("button", name="Keep it").click()
        expect(dialog).to_be_hidden()


def test_an_output_made_elsewhere_comes_into_the_library(
    page: Page, watch: Watch, service: str
) -> None:
    """The library showing the edit outputs: an edit made elsewhere (here, through the API)
    comes on top as it completes, without a reload; its thumbnail, a copy made by its
    address, does not (copies are not ticked)."""
    with httpx.Client(base_url=service, timeout=60) as api:
        picture = media.image_bytes("PNG", size=(401, 233))  # a thumbnail is made
        uploaded = api.post("/bucket/upload", params={"filename": "elsewhere.png"}, content=picture)
        page.goto("/#/library?outputs=1")
        expect(page.get_by_role("link", name="Edit elsewhere.png")).to_be_visible()
        made = api.post(f"/edit?media={uploaded.json()['id']}&flip=h&wait=30").json()
        assert made["status"] == "completed"
    expect(page.locator(".card").first).to_contain_text("elsewhere-edited.png")
    expect(page.get_by_role("link", name="Edit elsewhere-edited.png")).to_have_count(1)
    page.wait_for_load_state("networkidle")  # its thumbnail made, and told
    expect(page.locator(".card", has_text="a copy made by its address")).to_have_count(0)


def test_uploads_and_deletions_made_elsewhere_reach_an_open_library(
    page: Page, watch: Watch, service: str
) -> None:
    """Uploads made by HTTP (curl, another tab) come into the open library as they are ready,
    newest on top, and go when they are deleted, without a reload (they showed at the next
    load only, and a deleted one stayed, its Delete refused). The first may come by the
    stream's first catching up; the second, made once that is done, only live. Their cards'
    facts wrap at phone width, never between a size and its unit (check_page)."""
    page.goto("/#/library")
    expect(page.get_by_role("heading", name="Library")).to_be_visible()
    with httpx.Client(base_url=service, timeout=60) as api:
        made = []
        for name, size in (("curled.png", (901, 600)), ("curled-again.png", (37, 73))):
            picture = media.image_bytes("PNG", size=size)
            made.append(api.post("/bucket/upload", params={"filename": name}, content=picture))
            expect(page.locator(".card").first).to_contain_text(name)
        check_page(page, "library-live")
        for uploaded in made:
            api.delete(f"/bucket/upload/{uploaded.json()['id']}").raise_for_status()
    for name in ("curled.png", "curled-again.png"):
        expect(page.get_by_role("link", name=f"Edit {name}")).to_have_count(0)


def until_asked(page: Page, held: list[Route], seconds: float = 10) -> None:
    """Until the page has asked for the stream `held` holds. A route's handler runs only while
    this thread is in a Playwright call: a request made while the test was uploading is seen at
    the next one (the stream opens after the library's first read, not with it)."""
    for _ in range(int(seconds * 20)):
        if held:
            return
        page.wait_for_timeout(50)
    raise AssertionError("the stream was not asked for")


def test_an_output_made_before_the_stream_watches_is_caught_up(
    page: Page, watch: Watch, service: str
) -> None:
    """The tab's stream opens after the library's first read; an output made in between was
    told to no one (the library waited for its event for ever: seen once in CI). Held here
    until the edit has completed: once the stream watches, the library reads its newest page
    and what it lacks comes on top."""
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)

    page.route(re.compile(r"/events(\?|$)"), hold)
    with httpx.Client(base_url=service, timeout=60) as api:
        picture = media.image_bytes("PNG", size=(403, 229))
        uploaded = api.post("/bucket/upload", params={"filename": "meanwhile.png"}, content=picture)
        page.goto("/#/library?outputs=1")
        expect(page.get_by_role("link", name="Edit meanwhile.png")).to_be_visible()
        made = api.post(f"/edit?media={uploaded.json()['id']}&flip=v&wait=30").json()
        assert made["status"] == "completed"
    expect(page.get_by_role("link", name="Edit meanwhile-edited.png")).to_have_count(0)
    until_asked(page, held)
    for route in held:
        route.continue_()
    page.unroute(re.compile(r"/events(\?|$)"))
    expect(page.locator(".card").first).to_contain_text("meanwhile-edited.png")


def test_media_made_within_one_millisecond_come_in_the_listing_s_order(
    page: Page, watch: Watch, service: str, module_database_url: str
) -> None:
    """Two uploads the stream's catching up brings, made within one millisecond of a day of
    their own: each goes where the listing (uploaded_at, then id, newest first) has it. The
    browser's Date.parse keeps milliseconds only, so the later of the two came second
    whenever its id was the smaller (components/dom.js micros)."""
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)

    page.route(re.compile(r"/events(\?|$)"), hold)
    page.goto("/#/library?uploadedAt=2001-02-07")
    expect(page.locator(".empty")).to_be_visible()  # its first read is done: nothing that day
    until_asked(page, held)
    with httpx.Client(base_url=service, timeout=60) as api:
        ids = sorted(
            api.post(
                "/bucket/upload", params={"filename": f"same-ms-{n}.png"},
                content=media.image_bytes("PNG", size=(41 + n, 29)),
            ).json()["id"]
            for n in range(2)
        )  # fmt: skip
    smaller, larger = ids
    with psycopg.connect(module_database_url, autocommit=True) as conn:
        # One millisecond of the day the page lists (the Load more test's is 2001-02-05), the
        # smaller id 800 us the later.
        conn.execute(
            "UPDATE editroom.media SET uploaded_at = '2001-02-07T12:00Z'::timestamptz"
            " + CASE id WHEN %(smaller)s THEN interval '900 us' ELSE interval '100 us' END"
            " WHERE id IN (%(smaller)s, %(larger)s)",
            {"smaller": smaller, "larger": larger},
        )
    for route in held:
        route.continue_()
    page.unroute(re.compile(r"/events(\?|$)"))
    cards = page.locator(".card")
    expect(cards.nth(1)).to_have_attribute("data-media", larger)
    assert cards.nth(0).get_attribute("data-media") == smaller


def test_a_refused_cancel_is_told_in_its_row_of_the_queue(
    page: Page, watch: Watch, service: str
) -> None:
    """The queue at phone width lists eight edits; the oldest, shown still queued (as a read
    made just before it finished would), is cancelled: the API refuses, which is told in its
    row, where the person is, not above the table a screen away."""
    watch.expected.append("status of 409")
    with httpx.Client(base_url=service, timeout=60) as api:
        picture = media.image_bytes("PNG", size=(83, 61))
        uploaded = api.post("/bucket/upload", params={"filename": "rows.png"}, content=picture)
        made = [
            api.post(f"/edit?media={uploaded.json()['id']}&rotate={angle}&wait=30").json()
            for angle in (10, 20, 30, 40, 50, 60, 70, 80)
        ]
    oldest = made[0]["id"]

    def oldest_still_queued(route: Route) -> None:
        listing = route.fetch().json()
        listing["items"] = [
            {**e, "status": "queued"} if e["id"] == oldest else e for e in listing["items"]
        ]
        route.fulfill(json=listing)

    page.route(re.compile(r"/edit\?"), oldest_still_queued)
    page.set_viewport_size(PHONE)
    page.goto("/#/queue")
    row = page.locator(f"tr[data-edit='{oldest}']")
    expect(row).to_have_attribute("data-status", "queued")
    cancel_is_refused_in(page, row)


def test_load_more_for_the_last_page_hands_the_focus_on(
    page: Page, watch: Watch, service: str, module_database_url: str
) -> None:
    """Twenty-five pictures of a day of their own, a page of 24: Load more pressed from the
    keyboard reads the last one and goes, and the focus goes on to that card's name, not to
    the page's top."""
    with httpx.Client(base_url=service, timeout=60) as api:
        ids = [
            api.post(
                "/bucket/upload", params={"filename": f"day-{index:02}.png"},
                content=media.image_bytes("PNG", size=(151 + index, 23)),
            ).json()["id"]
            for index in range(25)
        ]  # fmt: skip
    with psycopg.connect(module_database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE editroom.media SET uploaded_at = '2001-02-05T12:00Z'::timestamptz"
            " + make_interval(secs => array_position(%s::uuid[], id)) WHERE id = ANY(%s)",
            [ids, ids],
        )  # the first uploaded, the oldest: the last page's one card
    page.goto("/#/library?uploadedAt=2001-02-05")
    expect(page.locator(".card")).to_have_count(24)
    page.get_by_role("button", name="Load more").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".card")).to_have_count(25)
    expect(page.get_by_role("button", name="Load more")).to_be_hidden()
    expect(page.locator(".card-title", has_text="day-00.png")).to_be_focused()


def test_undo_and_redo_from_the_keyboard_keep_the_focus(
    page: Page, watch: Watch, service: str
) -> None:
    """One step: Undo pressed from the keyboard is then of no use (disabled), and hands the
    focus to Redo; Redo, likewise, to Undo. The focus fell to the page's top."""
    with httpx.Client(base_url=service, timeout=60) as api:
        picture = media.image_bytes("PNG", size=(111, 67))
        media_id, _ = stepped(api, filename="undone.png", content=picture, step="flip=h")
    page.goto(f"/#/media/{media_id}")
    undo = page.get_by_role("button", name="Undo")
    redo = page.get_by_role("button", name="Redo")
    expect(undo).to_be_enabled()
    undo.focus()
    page.keyboard.press("Enter")
    expect(undo).to_be_disabled()
    expect(redo).to_be_focused()
    page.keyboard.press("Enter")
    expect(redo).to_be_disabled()
    expect(undo).to_be_focused()


def test_the_queue_keeps_the_focus_on_a_row_drawn_again(
    page: Page, watch: Watch, service: str, tmp_path: Path
) -> None:
    """A running edit cancelled from the keyboard in the queue: its row, drawn again, keeps the
    focus on its Retry; retried, on its Cancel. The focus fell to the page's top each time."""
    clip = media.write_video(tmp_path / "kept.mp4", acodec=None, seconds=4, size=(160, 120), fps=25)
    with httpx.Client(base_url=service, timeout=60) as api:
        uploaded = api.post(
            "/bucket/upload", params={"filename": "kept.mp4"}, content=clip.read_bytes()
        )
        edit = api.post(f"/edit?media={uploaded.json()['id']}&resize=1920x1440&format=webm").json()
    page.goto("/#/queue")
    row = page.locator(f"tr[data-edit='{edit['id']}']")
    expect(row).to_have_attribute("data-status", re.compile("queued|processing"))
    page.wait_for_load_state("networkidle")  # the page has read its list: the row stays put
    row.get_by_role("button", name="Cancel").focus()
    page.keyboard.press("Enter")
    expect(row).to_have_attribute("data-status", "cancelled")
    expect(row.get_by_role("button", name="Retry")).to_be_focused()
    page.keyboard.press("Enter")
    expect(row).to_have_attribute("data-status", re.compile("queued|processing"))
    expect(row.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Enter")  # not left to run
    expect(row).to_have_attribute("data-status", "cancelled")


def test_an_execution_s_failure_is_told_as_the_queue_tells_it(
    page: Page, watch: Watch, service: str
) -> None:
    """A workflow's headshot of a picture without a face fails: its execution says so as the
    queue does, "failed:" with the reason and that trying again would fail the same way (it
    showed the runner's words alone, as if the edit had been told nothing more)."""
    with httpx.Client(base_url=service, timeout=60) as api:
        picture = media.image_bytes("PNG", size=(67, 51))
        uploaded = api.post("/bucket/upload", params={"filename": "noface.png"}, content=picture)
        workflow = api.post(
            "/workflows", json={"name": "faces-of-noface", "ops": [{"op": "headshot"}]}
        )
        workflow_id = workflow.json()["id"]
        api.post(f"/workflows/{workflow_id}/run", params={"media": uploaded.json()["id"]})
    page.goto(f"/#/workflows/{workflow_id}/executions")
    status = page.locator("tr[data-status=failed] td[data-label='Status']")
    expect(status).to_contain_text("failed: ")
    expect(status).to_contain_text("trying it again would fail the same way")


def test_the_api_docs_render_offline_under_the_strict_policy(page: Page, watch: Watch) -> None:
    """/docs draws Swagger UI from editroom's own files (no other host is asked, or the watch
    fails), under the same Content-Security-Policy as the UI (a violation is a console error),
    and POST /edit shows the operations as its parameters."""
    page.goto("/docs")
    operation = page.locator("#operations-edits-create_edit_edit_post")
    operation.locator(".opblock-summary").click()
    expect(operation.locator("tr[data-param-name='crop']")).to_be_visible()
    expect(operation.locator("tr[data-param-name='wait']")).to_be_visible()


# Last in the module: the result it deletes in the end would be a result deleted in the queue
# of every test after it, whose page read it (a 404 the browser logs, which their watch failed).
# The queue now reads its media in one listing, where a deleted one is absent, not a 404: run
# first, then the queue's tests, all pass (and failed so before). Left last all the same: other
# pages may still read it on their own, and no run has yet shown that none does.
def test_a_refused_deletion_is_told_on_its_card(page: Page, watch: Watch, service: str) -> None:
    """A session step's output cannot go while its session lives (409): the refusal is shown
    on the card whose Delete was pressed, wherever the page has scrolled to, in words a person
    can follow (whose undo history holds it, named, not two ids) with the way to free it: the
    original's editor, opened on that session (not the media's newest, which it opens without
    one), whose Discard history deletes the session; then the delete succeeds."""
    watch.expected.append("status of 409")
    with httpx.Client(base_url=service, timeout=60) as api:
        picture = media.image_bytes("PNG", size=(88, 66))
        original, held = stepped(api, filename="kept.png", content=picture, step="flip=h")
        newer = api.post("/sessions", params={"media": original})  # no step of its own
        assert newer.is_success, newer.text
    page.goto("/#/library?outputs=1")
    page.get_by_role("button", name="Delete kept-edited.png").click()
    expect(page.get_by_role("dialog")).to_contain_text("its editing sessions")  # what goes too
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    card = page.locator(".card", has=page.get_by_role("link", name="Edit kept-edited.png"))
    refusal = card.get_by_role("alert")
    expect(refusal).to_contain_text(
        "kept-edited.png was not deleted: it is step 1 of the undo history of kept.png"
    )
    expect(refusal).to_contain_text("Discard history")
    expect(refusal).not_to_contain_text(re.compile("[0-9a-f]{8}-[0-9a-f]{4}-"))  # no ids
    expect(refusal).to_be_in_viewport()
    check_page(page, "library-refused-deletion")
    refusal.get_by_role("link", name="kept.png").click()
    expect(page).to_have_url(
        re.compile(re.escape(f"#/media/{original}?session={held['session_id']}"))
    )
    expect(page.locator(".step")).to_have_count(1)
    expect(page.locator(".step")).to_have_attribute("data-edit", held["id"])  # the holder's
    page.get_by_role("button", name="Discard history").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Discard the editing history of kept.png?")
    expect(dialog).to_contain_text("the results the steps made stay in the library")
    dialog.get_by_role("button", name="Discard history").click()
    expect(page.locator(".step")).to_have_count(0)
    expect(page.get_by_role("button", name="Discard history")).to_be_disabled()
    expect(page.get_by_role("button", name="Undo")).to_be_disabled()
    check_page(page, "editor-history-discarded")
    page.goto("/#/library?outputs=1")
    page.get_by_role("button", name="Delete kept-edited.png").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.get_by_role("link", name="Edit kept-edited.png")).to_have_count(0)
    expect(page.get_by_role("link", name="Edit kept.png")).to_have_count(1)
