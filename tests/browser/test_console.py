"""The web console in a real browser: sign in, search a person and see the masked ID number, open a geo feature
and see its map, file and approve a sharing request, walk a demo project through two transitions, open the O&M
dashboard and check that its charts have drawn and its table matches the API — every page checked by axe-core
(no serious or critical violations) and photographed under var/test-output/console/."""

from __future__ import annotations

import io
import re
from typing import Any

import httpx
import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as when
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import select

from tests.browser.conftest import OUTPUT

pytestmark = pytest.mark.browser


def wait(driver, seconds: float = 20) -> WebDriverWait:
    """A wait that looks again when the page it was looking at was replaced (after a form's redirect)."""
    return WebDriverWait(driver, seconds, ignored_exceptions=(StaleElementReferenceException,))


def check_page(driver, axe_source: str, name: str) -> list[dict[str, Any]]:
    """Screenshot the page and run axe-core on it; returns the serious and critical violations."""
    driver.save_screenshot(str(OUTPUT / f"{name}.png"))
    driver.execute_script(axe_source)
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations.map("
        "v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target)}))))"
        ".catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]));"
    )
    return [v for v in result if v["impact"] in ("serious", "critical")]


def accessible(driver, axe_source: str, name: str) -> None:
    violations = check_page(driver, axe_source, name)
    assert not violations, f"{name}: {violations}"


def sign_in(driver, console, key: str, purpose: str | None = None) -> None:
    driver.delete_all_cookies()
    driver.get(f"{console.url}/console/login")
    driver.find_element(By.ID, "api-key").send_keys(key)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait(driver).until(when.url_contains("/console/repositories"))
    if purpose:
        Select(driver.find_element(By.ID, "purpose-select")).select_by_value(purpose)
        old = driver.find_element(By.TAG_NAME, "html")
        driver.find_element(By.CSS_SELECTOR, "form.purpose button").click()
        wait(driver).until(when.staleness_of(old))
        wait(driver).until(
            lambda d: (
                Select(d.find_element(By.ID, "purpose-select")).first_selected_option.get_attribute("value") == purpose
            )
        )


def canvas_has_content(driver, selector: str) -> bool:
    """True when the chart's canvas has drawn pixels that are not the background."""
    return bool(
        driver.execute_script(
            "const c = document.querySelector(arguments[0] + ' canvas'); if (!c) return false;"
            "const g = c.getContext('2d'); const d = g.getImageData(0, 0, c.width, c.height).data;"
            "let n = 0; for (let i = 0; i < d.length; i += 4) { if (d[i+3] > 0 && (d[i] < 240 || d[i+1] < 240"
            " || d[i+2] < 240)) n++; } return n > 500;",
            selector,
        )
    )


def test_signing_in_with_a_wrong_key_is_refused_and_a_right_one_opens_the_repositories(driver, console, axe_source):
    driver.delete_all_cookies()
    driver.get(f"{console.url}/console/repositories")
    assert "/console/login" in driver.current_url
    accessible(driver, axe_source, "01-login")
    driver.find_element(By.ID, "api-key").send_keys("mdm_not-a-key")
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    alert = wait(driver).until(when.presence_of_element_located((By.CSS_SELECTOR, "[role=alert]")))
    assert "auth.invalid_key" in alert.text

    sign_in(driver, console, console.keys.admin)
    cookie = driver.get_cookie("mdm_console")
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
    rows = driver.find_elements(By.CSS_SELECTOR, "main table tbody tr")
    assert len(rows) == 5
    assert "1,000" in driver.find_element(By.TAG_NAME, "main").text  # the demo's persons
    accessible(driver, axe_source, "02-repositories")


def test_a_form_posted_without_the_session_token_is_refused(driver, console):
    sign_in(driver, console, console.keys.admin)
    session_cookie = driver.get_cookie("mdm_console")["value"]
    response = httpx.post(
        f"{console.url}/console/purpose",
        data={"purpose": "tax.audit", "csrf_token": "forged"},
        cookies={"mdm_console": session_cookie},
    )
    assert response.status_code == 403 and "console.csrf_invalid" in response.text


def test_a_sharing_request_is_filed_approved_and_then_the_id_number_shows_masked(driver, console, axe_source):
    from mdm.db import Database
    from mdm.models import GoldenRecord

    with Database(console.database_url).read() as session:
        person = session.execute(
            select(GoldenRecord).where(GoldenRecord.repository == "natural_person").order_by(GoldenRecord.id).limit(1)
        ).scalar_one()
        citizen_id, name = person.business_key, person.data["name"]

    # 税务局 has no read grant: the person is not shown at all
    sign_in(driver, console, console.keys.other, purpose="tax.audit")
    driver.get(f"{console.url}/console/repositories/natural_person?field=name&value={name}")
    assert "access.no_grant" in driver.find_element(By.CSS_SELECTOR, "[role=alert]").text

    # 税务局 files a request for the ID number and the name, masked, for tax.audit
    driver.get(f"{console.url}/console/sharing")
    Select(driver.find_element(By.ID, "r-repository")).select_by_value("natural_person")
    driver.find_element(By.ID, "r-fields").send_keys("citizen_id, name, gender_code")
    Select(driver.find_element(By.ID, "r-purpose")).select_by_value("tax.audit")
    driver.find_element(By.ID, "r-reason").send_keys("核对纳税人身份信息")
    driver.find_element(By.CSS_SELECTOR, "#r-reason ~ button[type=submit]").click()
    notice = wait(driver).until(when.presence_of_element_located((By.CSS_SELECTOR, "[role=status]")))
    request_id = int(re.search(r"已提交共享申请 (\d+)", notice.text).group(1))
    accessible(driver, axe_source, "03-sharing-filed")

    # 公安局 owns natural_person: the request is in its queue; it approves
    sign_in(driver, console, console.keys.owner)
    driver.get(f"{console.url}/console/sharing")
    accessible(driver, axe_source, "04-sharing-queue")
    driver.find_element(By.ID, f"approve-{request_id}").click()
    notice = wait(driver).until(when.presence_of_element_located((By.CSS_SELECTOR, "[role=status]")))
    assert f"已批准共享申请 {request_id}" in notice.text
    assert not driver.find_elements(By.ID, f"approve-{request_id}")

    # 税务局 now finds the person by exact name and sees the ID number masked
    sign_in(driver, console, console.keys.other, purpose="tax.audit")
    driver.get(f"{console.url}/console/sharing")
    assert "已批准" in driver.find_element(By.TAG_NAME, "main").text
    driver.get(f"{console.url}/console/repositories/natural_person")
    Select(driver.find_element(By.ID, "field")).select_by_value("name")
    driver.find_element(By.ID, "value").send_keys(name)
    driver.find_element(By.CSS_SELECTOR, "#value ~ button").click()
    table = wait(driver).until(when.presence_of_element_located((By.CSS_SELECTOR, "table.hits")))
    text = table.text
    masked = citizen_id[:2] + "*" * 16  # the province only (mdm.access.masking)
    assert masked in text and citizen_id not in driver.page_source
    assert "脱敏" in text
    accessible(driver, axe_source, "05-person-masked")


def test_a_geo_feature_page_draws_its_geometry_on_the_base_map(driver, console, axe_source):
    sign_in(driver, console, console.keys.admin, purpose="review.credit")
    driver.get(f"{console.url}/console/repositories/geo_feature?q=苏州工业园区")
    link = wait(driver).until(when.element_to_be_clickable((By.CSS_SELECTOR, "table.hits a")))
    link.click()
    wait(driver).until(when.presence_of_element_located((By.CSS_SELECTOR, "#map-record[data-drawn='1']")))
    assert canvas_has_content(driver, "#map-record")
    driver.execute_script("document.getElementById('map-record').scrollIntoView()")
    driver.find_element(By.ID, "map-record").screenshot(str(OUTPUT / "06-geo-feature-map.png"))
    assert "苏州工业园区" in driver.find_element(By.TAG_NAME, "main").text
    accessible(driver, axe_source, "06-geo-feature")


def test_a_demo_project_gets_its_acceptance_report_and_walks_two_lifecycle_steps(driver, console, axe_source, tmp_path):
    admin = {"Authorization": f"Bearer {console.keys.admin}"}
    project = httpx.get(f"{console.url}/projects?status=implementing", headers=admin).json()["items"][0]["id"]
    report = tmp_path / "验收报告.pdf"
    report.write_bytes(b"%PDF-1.4 acceptance report")

    sign_in(driver, console, console.keys.admin)
    driver.get(f"{console.url}/console/projects?status=implementing")
    accessible(driver, axe_source, "07-projects")
    driver.get(f"{console.url}/console/projects/{project}")
    Select(driver.find_element(By.ID, "u-type")).select_by_value("acceptance_report")
    driver.find_element(By.ID, "u-file").send_keys(str(report))
    driver.find_element(By.ID, "upload-submit").click()
    wait(driver).until(when.url_contains("uploaded=1"))
    assert "验收报告.pdf" in driver.find_element(By.TAG_NAME, "main").text
    documents = httpx.get(f"{console.url}/projects/{project}/documents", headers=admin).json()["items"]
    assert [d["doc_type"] for d in documents if d["file_name"] == "验收报告.pdf"] == ["acceptance_report"]
    for step in ("accepted", "filed"):
        Select(driver.find_element(By.ID, "t-to")).select_by_value(step)
        driver.find_element(By.ID, "t-comment").send_keys(f"控制台测试：{step}")
        driver.find_element(By.ID, "transition-submit").click()
        wait(driver).until(when.presence_of_element_located((By.CSS_SELECTOR, f"#project-stage[data-stage='{step}']")))
    timeline = driver.find_element(By.CSS_SELECTOR, ".timeline").text
    assert "控制台测试：accepted" in timeline and "控制台测试：filed" in timeline
    assert httpx.get(f"{console.url}/projects/{project}", headers=admin).json()["status"] == "filed"
    accessible(driver, axe_source, "08-project")


def test_the_om_dashboard_draws_its_charts_and_its_table_matches_the_api(driver, console, axe_source):
    admin = {"Authorization": f"Bearer {console.keys.admin}"}
    stats = httpx.get(f"{console.url}/projects/om-statistics?year=2025", headers=admin).json()
    assert stats["categories"]

    sign_in(driver, console, console.keys.admin)
    driver.get(f"{console.url}/console/dashboards?year=2025")
    for chart in ("om-cost", "om-share", "om-growth", "by-stage", "by-department"):
        wait(driver).until(when.presence_of_element_located((By.CSS_SELECTOR, f"#chart-{chart}[data-drawn='1']")))
        assert canvas_has_content(driver, f"#chart-{chart}"), chart
    rows = driver.find_elements(By.CSS_SELECTOR, "#om-table tbody tr")
    shown = {r.get_attribute("data-category"): [c.text for c in r.find_elements(By.CSS_SELECTOR, "td")] for r in rows}
    expected = {
        c["category"]: [
            str(c["count"]),
            c["total_wan"],
            c["p25_wan"],
            c["median_wan"],
            c["p75_wan"],
            c["share_of_construction"] or "—",
            c["growth"] or "—",
            c["standard_ratio"] or "—",
        ]
        for c in stats["categories"]
    }
    assert shown == expected
    driver.execute_script("window.scrollTo(0, document.querySelector('#om-head').offsetTop - 10)")
    driver.save_screenshot(str(OUTPUT / "dashboards-om.png"))  # the README's screenshot (docs/console-dashboards.png)
    accessible(driver, axe_source, "09-dashboards")

    csv_text = httpx.get(
        f"{console.url}/console/data/om-categories.csv?year=2025",
        cookies={"mdm_console": driver.get_cookie("mdm_console")["value"]},
    ).text
    assert all(c["total_wan"] in csv_text for c in stats["categories"])


def test_a_load_with_rejects_charts_their_codes_filters_them_and_exports_them(driver, console, axe_source):
    sign_in(driver, console, console.keys.admin)
    driver.get(f"{console.url}/console/loads")
    accessible(driver, axe_source, "10-loads")
    rejected = [
        row.find_element(By.CSS_SELECTOR, "td a").get_attribute("href")
        for row in driver.find_elements(By.CSS_SELECTOR, "main table tbody tr")
        if row.find_elements(By.TAG_NAME, "strong")  # the rejected count is bold when not 0
    ]
    assert len(rejected) == 1  # the demo's correction file
    driver.get(rejected[0])
    wait(driver).until(when.presence_of_element_located((By.CSS_SELECTOR, "#chart-reject-codes[data-drawn='1']")))
    assert canvas_has_content(driver, "#chart-reject-codes")
    main = driver.find_element(By.TAG_NAME, "main").text
    assert "id.checksum" in main and "5 行符合条件" in main
    accessible(driver, axe_source, "11-load")

    driver.find_element(By.ID, "f-code").send_keys("id.checksum")
    driver.find_element(By.CSS_SELECTOR, "form.filters button").click()
    wait(driver).until(when.url_contains("code=id.checksum"))
    assert "1 行符合条件" in driver.find_element(By.TAG_NAME, "main").text

    from openpyxl import load_workbook

    cookies = {"mdm_console": driver.get_cookie("mdm_console")["value"]}
    xlsx = httpx.get(rejected[0] + "/rejects.xlsx?code=id.checksum", cookies=cookies)
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][2].startswith("错误代码") and [r[2] for r in rows[1:]] == ["id.checksum"]
    jsonl = httpx.get(rejected[0] + "/rejects.jsonl", cookies=cookies)
    assert len(jsonl.text.splitlines()) == 5
    codes = httpx.get(rejected[0] + "/reject-codes.csv", cookies=cookies).text.lstrip("\ufeff").splitlines()
    assert codes[0] == "错误代码 code,次数 count" and "id.checksum,1" in codes


def test_an_error_page_and_a_persons_record_page_pass_the_accessibility_check(driver, console, axe_source):
    sign_in(driver, console, console.keys.reader, purpose="social.assistance")
    driver.get(f"{console.url}/console/no-such-page")
    assert "request.not_found" in driver.find_element(By.TAG_NAME, "main").text
    accessible(driver, axe_source, "12-error")
    driver.get(f"{console.url}/console/repositories/natural_person?q=990102")
    link = wait(driver).until(when.element_to_be_clickable((By.CSS_SELECTOR, "table.hits a")))
    link.click()
    wait(driver).until(when.presence_of_element_located((By.ID, "history-head")))
    assert "版本历史" in driver.find_element(By.TAG_NAME, "main").text
    accessible(driver, axe_source, "13-person-record")
