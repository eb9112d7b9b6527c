"""The console in Chinese, in a real browser: a search before a purpose is chosen is the search page with its
form and a Chinese message (HTTP 400), and codes on the project and load pages carry their Chinese titles beside
them — every page checked by axe-core (no serious or critical violations)."""

from __future__ import annotations

import httpx
import pytest
from selenium.webdriver.common.by import By

from tests.browser.test_console import accessible, sign_in

pytestmark = pytest.mark.browser


def _cookies(driver) -> dict[str, str]:
    return {"mdm_console": driver.get_cookie("mdm_console")["value"]}


def test_a_search_before_choosing_a_purpose_is_the_form_with_a_chinese_message_and_400(driver, console, axe_source):
    sign_in(driver, console, console.keys.reader)  # no purpose chosen yet
    url = f"{console.url}/console/repositories/natural_person?q=990102"
    driver.get(url)
    problem = driver.find_element(By.ID, "search-problem")
    assert problem.get_attribute("data-code") == "access.purpose_required"
    assert "未选择用途（错误代码 access.purpose_required）" in problem.text
    assert "请在页面顶部选择本次查询的用途" in problem.text
    assert driver.find_element(By.ID, "q").get_attribute("value") == "990102"  # the form, with what was typed
    assert not driver.find_elements(By.CSS_SELECTOR, "table.hits")
    assert httpx.get(url, cookies=_cookies(driver)).status_code == 400
    accessible(driver, axe_source, "20-search-without-purpose")

    sign_in(driver, console, console.keys.reader, purpose="social.assistance")
    driver.get(url)
    assert driver.find_elements(By.CSS_SELECTOR, "table.hits a")
    assert httpx.get(url, cookies=_cookies(driver)).status_code == 200


def test_a_project_page_shows_every_code_with_its_chinese_title(driver, console, axe_source):
    admin = {"Authorization": f"Bearer {console.keys.admin}"}
    found = httpx.get(f"{console.url}/projects", params={"q": "城市内涝监测预警系统"}, headers=admin).json()["items"]
    project = next(p for p in found if p["name"] == "城市内涝监测预警系统")
    sign_in(driver, console, console.keys.admin)
    driver.get(f"{console.url}/console/projects/{project['id']}")
    main = driver.find_element(By.TAG_NAME, "main").text
    stage = driver.find_element(By.ID, "project-stage").text
    assert stage.endswith(f"（{project['status']}）") and len(stage) > len(project["status"]) + 2
    for shown in (
        "建设类（construction）",
        "未调整功能点数 UFP（unadjusted_function_points）",
        "工作量 AE，人时（effort_person_hours）",
        "软件开发费用，万元（amount_wan）",
        "承建单位（contractor）",
        "行政处罚（administrative_penalty）",
        "苏州市水务局（示例）",
        "苏州市财政局(示例)（11990000MB00001008）",  # the finance bureau evaluated it (timeline; registered name)
    ):
        assert shown in main, shown
    accessible(driver, axe_source, "21-project-titles")


def test_the_reject_codes_of_a_load_show_their_chinese_titles(driver, console, axe_source):
    sign_in(driver, console, console.keys.admin)
    driver.get(f"{console.url}/console/loads")
    rejected = [
        row.find_element(By.CSS_SELECTOR, "td a").get_attribute("href")
        for row in driver.find_elements(By.CSS_SELECTOR, "main table tbody tr")
        if row.find_elements(By.TAG_NAME, "strong")
    ]
    assert "人口基础信息" in driver.find_element(By.TAG_NAME, "main").text  # the repository's title, not its id alone
    driver.get(rejected[0])
    main = driver.find_element(By.TAG_NAME, "main").text
    assert "身份证号码校验位错误（id.checksum）" in main
    assert "身份证号码长度错误（id.length）" in main
    accessible(driver, axe_source, "22-load-titles")
