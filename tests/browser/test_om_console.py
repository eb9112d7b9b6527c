"""The O&M approval pages (运维审批) in a real browser, on the demo's O&M examples: a declarer sees only its own
department's O&M projects and the review of one above its standard, with both charts drawn; the finance reviewer
approves it with a reason in the page; a system's page shows its O&M year on year with the growth, as the API does.
Every page checked by axe-core (no serious or critical violations) and photographed under var/test-output/console/."""

from __future__ import annotations

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as when

from mdm.db import Database
from mdm.keys import create_key
from tests.browser.test_console import accessible, canvas_has_content, sign_in, wait

pytestmark = pytest.mark.browser


def _reviewed(console) -> dict[str, dict]:
    """The demo's reviewed 2025 O&M projects by state: ``within``, ``approved`` and ``pending`` (their reviews)."""
    admin = {"Authorization": f"Bearer {console.keys.admin}"}
    params = {"kind": "om", "year": 2025, "limit": 100}
    found: dict[str, dict] = {}
    for item in httpx.get(f"{console.url}/projects", params=params, headers=admin).json()["items"]:
        review = httpx.get(f"{console.url}/projects/{item['id']}/om-review", headers=admin).json()
        if review["recorded"]:
            state = review["comparison"]["outcome"] if review["comparison"]["outcome"] == "within" else None
            state = state or review["reviews"][0]["decision"] or "pending"
            found.setdefault(state, review)
    return found


def _charts_drawn(driver) -> None:
    for chart in ("om-ratio", "om-history"):
        wait(driver).until(when.presence_of_element_located((By.CSS_SELECTOR, f"#chart-{chart}[data-drawn='1']")))
        assert canvas_has_content(driver, f"#chart-{chart}"), chart


def test_a_declarer_sees_its_review_above_the_standard_and_the_finance_reviewer_approves_it(
    driver, console, axe_source
):
    reviewed = _reviewed(console)
    assert set(reviewed) == {"within", "approved", "pending"}, set(reviewed)  # the demo's three
    pending = reviewed["pending"]
    database = Database(console.database_url)
    declarer = create_key(database, department=pending["department_uscc"], role="declarer")
    finance = create_key(database, department="浏览器测试财政评审", role="finance_reviewer", register=True)
    own = httpx.get(
        f"{console.url}/projects", params={"kind": "om", "limit": 1000}, headers={"Authorization": f"Bearer {declarer}"}
    ).json()["items"]

    sign_in(driver, console, declarer)
    driver.get(f"{console.url}/console/om-reviews")
    rows = driver.find_elements(By.CSS_SELECTOR, "#om-reviews tbody tr[data-project]")
    listed = {int(r.get_attribute("data-project")) for r in rows}
    assert listed == {p["id"] for p in own} and pending["project_id"] in listed  # its own department's only
    accessible(driver, axe_source, "14-om-reviews")
    driver.get(f"{console.url}/console/projects/{pending['project_id']}/om-review")
    assert driver.find_element(By.ID, "om-outcome").get_attribute("data-outcome") == "above"
    assert not driver.find_elements(By.ID, "decision-submit")
    _charts_drawn(driver)
    accessible(driver, axe_source, "15-om-review-declarer")

    sign_in(driver, console, finance)
    driver.get(f"{console.url}/console/projects/{pending['project_id']}/om-review")
    driver.find_element(By.ID, "d-approve").click()
    driver.find_element(By.ID, "d-reason").send_keys("浏览器测试：新增设备属实，同意")
    driver.find_element(By.ID, "decision-submit").click()
    wait(driver).until(when.url_contains("done=approved"))
    assert "浏览器测试：新增设备属实，同意" in driver.find_element(By.ID, "om-reviews-log").text
    headers = {"Authorization": f"Bearer {finance}"}
    shown = httpx.get(f"{console.url}/projects/{pending['project_id']}/om-review", headers=headers).json()
    assert shown["reviews"][0]["decision"] == "approved" and shown["proceeds"]
    accessible(driver, axe_source, "16-om-review-decided")


def test_a_multi_year_systems_page_shows_its_growth_year_on_year_as_the_api_does(driver, console, axe_source):
    system = _reviewed(console)["approved"]
    history = system["history"]
    assert [h["year"] for h in history] == [2024, 2025] and history[1]["growth"] is not None

    sign_in(driver, console, console.keys.admin)
    driver.get(f"{console.url}/console/projects/{system['project_id']}/om-review")
    _charts_drawn(driver)
    rows = driver.find_elements(By.CSS_SELECTOR, "#om-history-table tbody tr")
    shown = [
        [r.find_element(By.TAG_NAME, "th").text, *[c.text for c in r.find_elements(By.TAG_NAME, "td")[:2]]]
        for r in rows
    ]
    assert shown == [[str(h["year"]), h["contract_wan"], h["growth"] or "—"] for h in history]
    assert "同意" in driver.find_element(By.ID, "om-reviews-log").text  # the demo's finance approval
    accessible(driver, axe_source, "17-om-review-growth")
