"""`tokenlane serve` as a person uses it (Playwright and the system Chromium), and its endpoints' contract."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.browser import launch_options
from tests.cli.helpers import invoke
from tests.integration.servers import serve_in_thread
from tokenlane import builtin_catalog
from tokenlane.serve import create_app
from tokenlane.serve.workspace import MAX_REQUESTS_PER_DAY

BUILT_IN = Path(__file__).resolve().parents[2] / "src" / "tokenlane" / "scenarios" / "team-assistant.yaml"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def page_url() -> Iterator[str]:
    with serve_in_thread(create_app(builtin_catalog(), BUILT_IN.read_text(), BUILT_IN.parent)) as url:
        yield url


def _scenario() -> dict:
    return yaml.safe_load(BUILT_IN.read_text())


@pytest.mark.browser
def test_changing_users_and_residency_moves_the_verdict_and_the_charts(page_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    options = launch_options()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(**options)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(page_url)

        def settled(after: str | None) -> str:
            page.wait_for_function(
                "(v) => document.body.dataset.version && document.body.dataset.version !== v && "
                "document.querySelector('#status').dataset.state === 'ready'",
                arg=after,
                timeout=60000,
            )
            return page.evaluate("document.body.dataset.version")

        def api_bill() -> list[float]:
            return page.evaluate("document.getElementById('cost_breakdown').data.flatMap(t => t.y)")

        version = settled(None)
        assert page.locator("#result").get_attribute("data-recommendation") == "cloud_api"
        assert "Recommendation: cloud api" in page.locator("#verdict").inner_text()
        assert page.locator("#preview").inner_text().count("GB") == 2  # the two boxes' weights, on paper
        bill_50 = api_bill()

        page.fill('[data-path="workload.users"]', "200")
        version = settled(version)
        bill_200 = api_bill()
        assert sum(bill_200) > sum(bill_50)  # four times the people: the API bills grow
        assert "200 users" in page.locator("#result").inner_text()

        page.select_option('[data-path="constraints.data_residency"]', "on_prem")
        settled(version)
        assert page.locator("#result").get_attribute("data-recommendation") == "none"
        assert "Data must not leave the building" in page.locator("#verdict").inner_text()

        page.fill('[data-path="workload.users"]', "0")
        page.wait_for_function("document.querySelector('#status').dataset.state === 'error'", timeout=30000)
        assert "greater than 0" in page.locator('[data-path="workload.users"]').locator("xpath=..").inner_text()
        page.screenshot(path=str(tmp_path / "serve.png"), full_page=False)
        browser.close()
    assert not errors


def test_a_problem_is_the_clis_own_line_with_its_field(page_url: str) -> None:
    raw = _scenario()
    raw["workload"]["users"] = 0
    r = httpx.post(f"{page_url}/api/check", json={"scenario": raw})
    assert r.status_code == 422
    assert r.json()["problems"][0]["field"] == "workload.users"
    raw = _scenario()
    raw["options"][0]["hardware"] = "no-such-box"
    problems = httpx.post(f"{page_url}/api/plan", json={"scenario": raw}).json()["problems"]
    assert problems[0]["field"] == "options[box].hardware" and "no-such-box" in problems[0]["message"]


def test_a_day_too_long_for_the_page_is_refused_with_the_limit_named(page_url: str) -> None:
    raw = _scenario()
    raw["workload"]["users"] = 10_000
    problems = httpx.post(f"{page_url}/api/plan", json={"scenario": raw}).json()["problems"]
    assert f"{MAX_REQUESTS_PER_DAY:,}" in problems[0]["message"] and "tokenlane plan" in problems[0]["message"]


def test_the_page_reads_no_file_it_was_not_given(page_url: str, tmp_path: Path) -> None:
    raw = _scenario()
    for key in ("requests_per_user_hour", "active_hours", "prompt_tokens", "output_tokens", "shared_prefix_tokens", "cache_hit_rate"):
        raw["workload"].pop(key, None)
    raw["workload"]["trace"] = {"path": "/etc/passwd", "format": "azure"}
    problems = httpx.post(f"{page_url}/api/check", json={"scenario": raw}).json()["problems"]
    assert "reads only" in problems[0]["message"]
    sample = (EXAMPLES / "data" / "azure-llm-inference-2023-conv.csv").read_bytes()
    path = httpx.post(f"{page_url}/api/upload", params={"name": "../../azure.csv"}, content=sample).json()["path"]
    assert Path(path).name == "azure.csv"  # the name only: an upload cannot climb out of its folder
    raw["workload"]["trace"] = {"path": path, "format": "azure", "start_hour": 10}
    r = httpx.post(f"{page_url}/api/check", json={"scenario": raw})
    assert r.status_code == 200, r.text


def test_the_downloaded_yaml_plans_to_the_same_verdict_and_a_share_link_reopens_it(page_url: str, tmp_path: Path) -> None:
    raw = _scenario()
    raw["workload"]["users"] = 120
    raw["constraints"]["data_residency"] = "region"
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(httpx.post(f"{page_url}/api/download/yaml", json={"scenario": raw}).text)
    page = httpx.post(f"{page_url}/api/plan", json={"scenario": raw}, timeout=60).json()
    cli = invoke("plan", str(scenario), "--json", "--no-report").json()["verdict"]
    assert (page["recommendation"], page["option"]) == (cli["recommendation"], cli["option"])
    query = httpx.post(f"{page_url}/api/share", json={"scenario": raw}).json()["query"]
    html = httpx.get(f"{page_url}/{query}").text
    assert '"users": 120' in html and "could not be opened" not in html
    assert "could not be opened" in httpx.get(f"{page_url}/?s=garbage").text


def test_oversized_requests_are_refused(page_url: str) -> None:
    r = httpx.post(f"{page_url}/api/check", content=b"{" + b" " * (2 << 20) + b"}", headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_serve_binds_loopback_by_default() -> None:
    import inspect

    from tokenlane.cli import serve

    assert inspect.signature(serve.command).parameters["host"].default == "127.0.0.1"


BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(9)
)


def test_a_foreign_host_or_origin_is_refused(page_url: str) -> None:
    """DNS rebinding: a page elsewhere resolving its own name to 127.0.0.1 reaches this server with its own Host."""
    assert httpx.get(f"{page_url}/", headers={"Host": "evil.example.com"}).status_code == 421
    assert httpx.get(f"{page_url}/", headers={"Host": "localhost:1234"}).status_code == 200
    body = {"yaml": BUILT_IN.read_text()}
    assert httpx.post(f"{page_url}/api/parse", json=body, headers={"Origin": "https://evil.example.com"}).status_code == 403
    assert httpx.post(f"{page_url}/api/parse", json=body, headers={"Origin": page_url}).status_code == 200
    assert httpx.post(f"{page_url}/api/upload?name=x.csv", content=b"a", headers={"Origin": "http://evil.example.com"}).status_code == 403


def test_an_alias_bomb_is_refused_at_once_and_the_page_stays_up(page_url: str) -> None:
    import time

    start = time.monotonic()
    r = httpx.post(f"{page_url}/api/parse", json={"yaml": BOMB}, timeout=10)
    assert r.status_code == 422 and "alias" in r.text
    assert time.monotonic() - start < 10.0  # unprotected it takes minutes; loose for a loaded machine
    assert httpx.get(f"{page_url}/", timeout=5).status_code == 200


@pytest.mark.parametrize("under_unknown_field", [False, True])
def test_alias_bombs_are_refused_within_a_second_by_every_loader(tmp_path: Path, under_unknown_field: bool) -> None:
    import time

    from tokenlane.catalog import load_catalog
    from tokenlane.errors import InputError

    text = BOMB if not under_unknown_field else "name: x\nworkload: {users: 1}\nbogus:\n  " + BOMB.replace("\n", "\n  ")
    path = tmp_path / "bomb.yaml"
    path.write_text(text)
    start = time.monotonic()
    result = invoke("plan", str(path), "--no-report")
    assert result.exit_code == 2 and "alias" in result.stderr and time.monotonic() - start < 10.0
    start = time.monotonic()
    with pytest.raises(InputError, match="alias"):
        load_catalog([path])
    assert time.monotonic() - start < 10.0


def _search(page_url: str, **fields: object) -> dict:
    """Start a search on the built-in scenario; its first view."""
    r = httpx.post(f"{page_url}/api/search", json={"scenario": _scenario(), **fields}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def _until_settled(page_url: str, view: dict, timeout_s: float = 120) -> dict:
    deadline = time.monotonic() + timeout_s
    while view["state"] in ("running", "cancelling"):
        assert time.monotonic() < deadline, view
        time.sleep(0.2)
        view = httpx.get(f"{page_url}/api/search/{view['id']}").json()
    return view


def test_a_search_from_the_page_counts_its_progress_and_its_pick_is_an_option(page_url: str) -> None:
    view = _until_settled(page_url, _search(page_url, hardware="mi325x", max_gpus=1))
    assert view["state"] == "done" and view["done"] == view["total"] > 0
    result = view["result"]
    assert result["configurations"] == view["total"] and result["front"]
    option = result["pick"]["option"]
    assert option["name"] == "search-best" and option["hardware"] == "mi325x" and option.get("count", 1) == result["pick"]["replicas"]
    assert result["recipe"]["command"] and result["best_api"]["name"]
    raw = _scenario()
    raw["options"].append(option)
    assert httpx.post(f"{page_url}/api/check", json={"scenario": raw}).status_code == 200  # the pick plans as it is


@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")  # the pool ends quietly
def test_a_search_is_cancelled_from_the_page_and_a_bad_field_is_named(page_url: str) -> None:
    started = _search(page_url)  # the whole catalog: minutes, unless cancelled
    cancelled = httpx.post(f"{page_url}/api/search/{started['id']}/cancel").json()
    assert cancelled["state"] in ("cancelling", "cancelled")
    view = _until_settled(page_url, cancelled, timeout_s=30)
    assert view["state"] == "cancelled" and view["done"] < view["total"] and "result" not in view
    r = httpx.post(f"{page_url}/api/search", json={"scenario": _scenario(), "kinds": "owned"})
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "--kinds"
    assert httpx.get(f"{page_url}/api/search/nope").status_code == 404


@pytest.mark.browser
def test_the_page_searches_and_adds_the_pick_to_its_options(page_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(**launch_options())
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(page_url)
        page.wait_for_function("document.querySelector('#status').dataset.state === 'ready'", timeout=60000)
        page.fill("#search-hardware", "mi325x")
        page.fill("#search-max-gpus", "1")
        page.click("#search-start")
        page.wait_for_function("document.body.dataset.search === 'done'", timeout=120000)
        assert "Pareto front" in page.locator("#search").inner_text()
        page.click("#search-add")
        page.wait_for_function(
            "document.querySelector('#status').dataset.state === 'ready' && "
            "document.querySelector('#result').innerText.includes('search-best')",
            timeout=60000,
        )
        names = page.evaluate("[...document.querySelectorAll('#options-editor tbody tr td:first-child input')].map((i) => i.value)")
        assert names.count("search-best") == 1
        page.screenshot(path=str(tmp_path / "search.png"), full_page=False)
        browser.close()
    assert not errors
