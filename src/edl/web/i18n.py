"""Languages of the web pages: Chinese first (zh-CN), English available.

The message catalogue is a plain dict so every visible string sits beside its translation and a unit test can
check both are present. The language comes from `?lang=`, then the `lang` cookie, then Accept-Language.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from markupsafe import Markup, escape
from starlette.requests import Request

from edl.domain.glossary import field_messages, format_date, format_datetime
from edl.web.catalogue import account, auth, holder, inbox, landing, openid4vci, parties, review, show, verify, wallet


class Lang(StrEnum):
    ZH = "zh"
    EN = "en"

    @property
    def html_tag(self) -> str:
        """The value of `<html lang>` (BCP 47)."""
        return "zh-CN" if self is Lang.ZH else "en"

    @property
    def other(self) -> Lang:
        return Lang.EN if self is Lang.ZH else Lang.ZH


DEFAULT_LANG = Lang.ZH
COOKIE_NAME = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600

# key -> (中文, English). Placeholders use str.format names.
_REGISTRY_MESSAGES: Mapping[str, tuple[str, str]] = {
    "site.skip": ("跳到正文", "Skip to content"),
    "lang.switch": ("English", "中文"),
    "lang.switch_label": ("Switch to English", "切换到中文"),
    "footer.generated": ("页面生成时间：{at}（北京时间）", "Page generated {at} (Beijing time)"),
    "footer.staff_only": (
        "本页面含个人信息，仅供授权工作人员使用。",
        "This page holds personal data and is for authorised staff only.",
    ),
    # registry list
    "list.title": ("驾驶证登记查询", "Licence registry"),
    "list.search_label": ("证号前缀或姓名", "Licence number prefix or name"),
    "list.search_hint": (
        "输入证号开头几位（如 110105），或姓名（可只输入姓）。",
        "Enter the first digits of a licence number (e.g. 110105) or a name (the family name is enough).",
    ),
    "list.search_button": ("查询", "Search"),
    "list.clear": ("清除", "Clear"),
    "list.count": ("共 {total} 条结果", "{total} {total:plural:result|results}"),
    "list.count_capped": (
        "超过 {total} 条结果，请缩小查询范围",
        "More than {total} {total:plural:result|results}: narrow the search",
    ),
    "list.count_for": ("“{q}”：", "For “{q}”: "),
    "list.page_of": ("第 {page} / {pages} 页", "Page {page} of {pages}"),
    "list.page": ("第 {page} 页", "Page {page}"),
    "list.empty": ("没有找到匹配的驾驶证。", "No licence matches this search."),
    "list.empty_page": (
        "此页没有结果。返回第一页查看。",
        "There are no results on this page. Go back to the first page.",
    ),
    "list.first_page": ("第一页", "First page"),
    "list.prev": ("上一页", "Previous page"),
    "list.next": ("下一页", "Next page"),
    "list.pagination": ("分页", "Pagination"),
    "list.results": ("查询结果", "Results"),
    # field labels: edl.domain.glossary (`field.<id>`)
    "sex.1": ("男", "male"),
    "sex.2": ("女", "female"),
    "nationality.CHN": ("中国", "China"),
    "validity.range": ("{start} 至 {end}", "{start} to {end}"),
    "validity.long_term": ("长期", "long-term"),
    # detail
    "detail.back": ("返回查询", "Back to search"),
    "detail.holder": ("持证人信息", "Holder"),
    "detail.photo_alt": ("持证人照片", "Photo of the holder"),
    "detail.photo_none": ("登记库中没有照片", "No photo in the registry"),
    "detail.mobile_none": ("未登记（不能在线绑定）", "None (cannot be bound online)"),
    "detail.not_bound": ("未绑定", "Not bound"),
    "detail.release": ("解除绑定", "Release the binding"),
    "detail.release_hint": (
        "持证人本人到窗口申请时使用：解除后电子驾驶证失效，登记手机号会收到短信，操作记入审计日志。",
        "For a holder who asks at a counter: the e-licence becomes void, the registered mobile is texted, and the "
        "release is audited.",
    ),
    "detail.released": ("已解除绑定。", "The binding was released."),
    "detail.photo_compliant": ("照片符合电子驾驶证要求", "Photo meets the e-licence rules"),
    "detail.photo_not_compliant": ("照片尚未确认符合要求", "Photo not confirmed as compliant"),
    "detail.status_points": ("状态与记分", "Status and points"),
    "detail.points_value": ("{points} / {limit} 分", "{points} of {limit} points"),
    "detail.points_cycle": ("本记分周期：{start} 至 {end}", "Current cycle: {start} to {end}"),
    "detail.eligibility": ("电子驾驶证申领资格（{today}）", "E-licence eligibility ({today})"),
    "detail.eligible": ("可以申领电子驾驶证", "May apply for an e-licence"),
    "detail.not_eligible": ("不能申领电子驾驶证", "May not apply for an e-licence"),
    "detail.reasons": ("原因及办理方法：", "Why, and what to do:"),
    "detail.classes_title": ("准驾车型", "Vehicle classes"),
    "detail.class_code": ("代号", "Code"),
    "detail.class_name_zh": ("中文名称", "Chinese name"),
    "detail.class_name_en": ("英文名称", "English name"),
    "detail.class_also": ("同时准驾", "Also permits"),
    "detail.class_also_none": ("无", "none"),
    "detail.record": ("驾驶记录", "Driving record"),
    "detail.record_empty": ("没有驾驶记录。", "No entries in the driving record."),
    "detail.record_date": ("日期", "Date"),
    "detail.record_kind": ("类别", "Kind"),
    "detail.record_description": ("内容", "Description"),
    "detail.record_points": ("记分", "Points"),
    "detail.events": ("最近登记事件", "Recent registry events"),
    "detail.events_empty": ("没有登记事件。", "No registry events."),
    "detail.event_at": ("时间（北京时间）", "Time (Beijing)"),
    "detail.event_kind": ("事件", "Event"),
    "detail.event_actor": ("操作人", "Actor"),
    "detail.event_version": ("版本", "Version"),
    "detail.event_fields": ("涉及字段", "Fields"),
    "record.offence": ("违法记分", "offence"),
    "record.renewal": ("换证", "renewal"),
    "record.class_change": ("准驾车型变更", "class change"),
    "record.status": ("状态变更", "status change"),
    "record.other": ("其他", "other"),
    "badge.ok": ("正常", "normal"),
    "badge.warn": ("需处理", "needs attention"),
    "badge.block": ("阻止申领", "blocks e-licence"),
    # errors
    "error.title": ("出错了", "Something went wrong"),
    "error.not_found": ("找不到该页面", "Page not found"),
    "error.not_found_detail": (
        "地址有误或该页面不存在。请检查地址，或返回查询页面。",
        "The address is wrong or the page does not exist. Check it, or go back to the search.",
    ),
    "error.licence_not_found": ("找不到该驾驶证", "Licence not found"),
    "error.licence_not_found_detail": (
        "登记库中没有证号为 {number} 的驾驶证。请核对证号后重新查询。",
        "The registry has no licence with number {number}. Check the number and search again.",
    ),
    "error.bad_request": ("请求有误", "Invalid request"),
    "error.bad_page": (
        "页码“{value}”无效：页码应为1到{max}之间的整数。",
        "Page “{value}” is not valid: use a whole number from 1 to {max}.",
    ),
    "error.bad_number": ("证号格式有误", "Malformed licence number"),
    "error.method": ("不支持此操作", "Method not allowed"),
    "error.method_detail": ("此地址不支持该请求方法。", "This address does not accept that request method."),
    "error.server": ("服务器内部错误", "Internal server error"),
    "error.server_detail": (
        "处理请求时发生错误，已记录。请稍后重试；如问题持续，请联系管理员并提供请求编号 {request_id}。",
        "The request failed and the error was logged. Try again later; if it persists, "
        "contact the administrator with request ID {request_id}.",
    ),
    "error.invalid_input": ("输入有误：{detail}", "Invalid input: {detail}"),
    "error.busy": (
        "正在处理的图片太多，请 {seconds} 秒后重新提交。本次提交未做任何处理，也未保存任何内容。",
        "Too many pictures are being processed right now: submit again in {seconds} s. Nothing was done or stored.",
    ),
    "error.home_public": ("返回首页", "Back to the home page"),
    "error.home_app": ("返回驾驶人端首页", "Back to the driver app"),
    "error.home_console": ("返回审核工作台", "Back to the review console"),
    "error.home_verify": ("返回核验页面", "Back to the verifier page"),
    "footer.public": (
        "电子驾驶证服务：驾驶人端、审核工作台与核验页面。",
        "Electronic driving licence service: the driver app, the review console and the verifier page.",
    ),
}


def _merge(*catalogues: Mapping[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    merged: dict[str, tuple[str, str]] = {}
    for catalogue in catalogues:
        clash = merged.keys() & catalogue.keys()
        if clash:
            raise RuntimeError(f"message keys defined twice: {sorted(clash)}")
        merged.update(catalogue)
    return merged


MESSAGES: Mapping[str, tuple[str, str]] = _merge(
    _REGISTRY_MESSAGES,
    field_messages(),
    auth.MESSAGES,
    account.MESSAGES,
    holder.MESSAGES,
    review.MESSAGES,
    inbox.MESSAGES,
    parties.MESSAGES,
    show.MESSAGES,
    verify.MESSAGES,
    landing.MESSAGES,
    wallet.MESSAGES,
    openid4vci.MESSAGES,
)


_PLURAL = re.compile(r"\{(\w+):plural:([^|{}]*)\|([^{}]*)\}")


def plurals(text: str, params: Mapping[str, Any]) -> str:
    """English plurals: `{count:plural:message|messages}` becomes the first word when `count` is 1, else the second
    ("1 unread message", "2 unread messages"); Chinese needs none."""

    def word(m: re.Match[str]) -> str:
        value = params.get(m.group(1))
        one = value == 1 or (isinstance(value, str) and value.strip() == "1")
        return (m.group(2) if one else m.group(3)).replace("{", "{{").replace("}", "}}")

    return _PLURAL.sub(word, text)


@dataclass(frozen=True, slots=True)
class Translator:
    """Looks up catalogue strings in one language; a missing key is a bug and raises KeyError."""

    lang: Lang

    def __call__(self, key: str, **params: Any) -> str:
        zh, en = MESSAGES[key]
        text = zh if self.lang is Lang.ZH else en
        return plurals(text, params).format(**params) if params else text

    def nowrap(self, key: str, **params: Any) -> Markup:
        """Like calling, for HTML: the message escaped, each parameter kept on one line (dates break at '-')."""
        zh, en = MESSAGES[key]
        text = zh if self.lang is Lang.ZH else en
        spans = {k: Markup('<span class="nowrap">%s</span>') % v for k, v in params.items()}
        return escape(plurals(text, params)).format(**spans)

    def format_date(self, value: date) -> str:
        """A date in this language's one format (`edl.domain.glossary.format_date`)."""
        return format_date(value, self.lang)

    def format_time(self, value: datetime) -> str:
        """A moment in Beijing time in this language's one format (`edl.domain.glossary.format_datetime`)."""
        return format_datetime(value, self.lang)

    def pick(self, zh: str, en: str) -> str:
        """Choose between a pair of texts that come with the data (status names, eligibility reasons)."""
        return zh if self.lang is Lang.ZH else en


def parse_lang(value: str | None) -> Lang | None:
    """'zh', 'zh-CN', 'zh-Hans', 'en', 'en-GB' … → Lang; anything else → None."""
    if not value:
        return None
    primary = value.strip().lower().replace("_", "-").split("-")[0]
    try:
        return Lang(primary)
    except ValueError:
        return None


def from_accept_language(header: str | None) -> Lang | None:
    """The best supported language in an Accept-Language header (q-values honoured; q=0 means 'not this')."""
    best: tuple[float, int, Lang] | None = None
    for index, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        lang = parse_lang(tag)
        if lang is None:
            continue
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                continue
        if q <= 0:
            continue
        candidate = (q, -index, lang)
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    return best[2] if best else None


def requested_lang(request: Request) -> Lang | None:
    """The language asked for explicitly in this request's `?lang=` (to be remembered in the cookie)."""
    return parse_lang(request.query_params.get("lang"))


def negotiate(request: Request) -> Lang:
    """?lang= first, then the `lang` cookie, then Accept-Language, then Chinese."""
    return (
        requested_lang(request)
        or parse_lang(request.cookies.get(COOKIE_NAME))
        or from_accept_language(request.headers.get("accept-language"))
        or DEFAULT_LANG
    )
