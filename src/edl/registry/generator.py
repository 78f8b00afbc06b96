"""Synthetic registry records for demos and benchmarks (`edl registry generate`).

Realistic enough to exercise every rule: valid ID numbers of drivers aged 18–75 born in the pilot cities' districts,
common Chinese names (including two-character surnames such as 欧阳), addresses in the issuing authority's city,
class and status mixes, validity terms that follow the first issue date (6 years, 10 years, then 长期), points, and
unique file numbers. Some records are ineligible for an e-licence (blocking statuses, expired validity) and about
70% have a compliant stored photo. The output depends only on (seed, count, as_of).

Random draws are vectorised with numpy per chunk; the per-row Python work is string formatting, so a million rows
take seconds. Output is always importable by `edl registry import` with no rejects.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from time import perf_counter
from typing import IO, Any

import numpy as np

from edl.domain import PILOT_AUTHORITIES, STATUS_TABLE, format_statuses, parse_statuses
from edl.domain.dates import add_years
from edl.domain.idcard import CHECK_CHARS, WEIGHTS
from edl.domain.points import cycle_start
from edl.registry.files import file_kind
from edl.registry.formats import COLUMNS
from edl.registry.portraits import BACKGROUND, OLD_BACKGROUND, render_portrait
from edl.storage.photos import PhotoStore

PHOTOS_UP_TO = 20_000
"""Without an explicit --photos/--no-photos, portraits are rendered only for files up to this many rows."""
COMPLIANT_PHOTO_RATE = 0.70
LAPSED_RATE = 0.03
"""Share of holders whose previous licence expired without renewal (ineligible; status 逾期未换证)."""
POINTS_RATE = 0.30
CHUNK = 50_000


@dataclass(frozen=True, slots=True)
class GenerateReport:
    path: Path
    count: int
    photos: int
    """Portraits rendered into the photo store."""
    ineligible: int
    """Records an e-licence would be refused for on `as_of` (blocking status or expired validity)."""
    seconds: float

    def summary(self) -> str:
        return (
            f"{self.path}: {self.count:,} records ({self.ineligible:,} ineligible for an e-licence, "
            f"{self.photos:,} portraits stored) in {self.seconds:.1f} s"
        )


def photos_by_default(count: int) -> bool:
    """Render portraits by default only for small files: a million JPEGs would dominate the run."""
    return count <= PHOTOS_UP_TO


def generate(
    out: Path,
    count: int,
    *,
    seed: int = 0,
    as_of: date | None = None,
    photos: PhotoStore | None = None,
    progress: Callable[[int], None] | None = None,
) -> GenerateReport:
    """Write `count` records to `out` (CSV or JSON Lines by extension, `.gz` compresses). With a photo store, each
    holder gets a portrait (`render_portrait(seed, number)`) stored and referenced: white background when the
    record says the photo is compliant, the old blue background otherwise."""
    kind, compressed = file_kind(out)
    as_of = as_of or date.today()
    started = perf_counter()
    rng = np.random.default_rng(seed)
    ids = _UniqueIds()
    file_offset = int(rng.integers(0, 10**8))
    stored = ineligible = done = 0
    opener: Any = gzip.open if compressed else open
    with opener(out, "wt", encoding="utf-8", newline="") as fh:
        write = _writer(fh, kind)
        while done < count:
            n = min(CHUNK, count - done)
            for record, blocked in _records(rng, ids, done, n, as_of, file_offset):
                if photos is not None:
                    # Every holder has a stored photo; the non-compliant ones are older blue-background photos
                    # (application case 2/3: a new photo is needed, but real-person authentication has a reference).
                    background = BACKGROUND if record["photo_compliant"] else OLD_BACKGROUND
                    record["photo_sha256"] = photos.put(render_portrait(seed, record["number"], background=background))
                    stored += 1
                ineligible += blocked
                write(record)
            done += n
            if progress:
                progress(done)
    return GenerateReport(out, count, stored, ineligible, perf_counter() - started)


def _writer(fh: IO[str], kind: str) -> Callable[[dict[str, Any]], object]:
    """CSV: header then text fields (empty for none); JSON Lines: typed values (numbers, booleans, null)."""
    if kind == "csv":
        rows = csv.writer(fh, lineterminator="\n")
        rows.writerow(COLUMNS)
        return lambda r: rows.writerow(
            ["" if v is None else ("true" if v else "false") if v.__class__ is bool else v for v in r.values()]
        )
    return lambda r: fh.write(json.dumps(r, ensure_ascii=False) + "\n")


class _UniqueIds:
    """The first 17 digits of every ID number issued so far, sorted (8 bytes each), to keep numbers unique."""

    def __init__(self) -> None:
        self._seen = np.empty(0, dtype=np.int64)

    def claim(self, keys: np.ndarray) -> np.ndarray:
        """`keys` made unique among themselves and earlier ones by moving the sequence number up by 2 (same sex)."""
        keys = keys.copy()
        while True:
            clash = np.ones(len(keys), dtype=bool)
            clash[np.unique(keys, return_index=True)[1]] = False
            if len(self._seen):
                pos = np.minimum(np.searchsorted(self._seen, keys), len(self._seen) - 1)
                clash |= self._seen[pos] == keys
            if not clash.any():
                break
            seq = keys[clash] % 1000
            keys[clash] += np.where(seq + 2 <= 999, 2, -(seq - seq % 2))
        fresh = np.sort(keys)  # one copy of the sorted array per chunk: union1d re-sorted all of it, which made
        self._seen = np.insert(self._seen, np.searchsorted(self._seen, fresh), fresh)  # 10 M records crawl
        return keys


def _records(
    rng: np.random.Generator, ids: _UniqueIds, start: int, n: int, as_of: date, file_offset: int
) -> Iterator[tuple[dict[str, Any], bool]]:
    """Draw `n` records (rows `start`… of the file) with vectorised randomness, then format them row by row;
    each comes with whether it is ineligible for an e-licence on `as_of`."""
    auth_i = rng.choice(len(PILOT_AUTHORITIES), n, p=_AUTH_P)
    home_i = np.where(rng.random(n) < 0.8, auth_i, rng.choice(len(PILOT_AUTHORITIES), n, p=_AUTH_P))
    home_d = (rng.random(n) * _DISTRICT_COUNT[home_i]).astype(np.int64)
    addr_d = (rng.random(n) * _DISTRICT_COUNT[auth_i]).astype(np.int64)
    male = rng.random(n) < 0.56
    # Age 18–75 on as_of (most in their 30s and 40s); the first licence from 18 years on, mostly early.
    latest = add_years(as_of, -18).toordinal()
    earliest = add_years(as_of, -75).toordinal() + 1
    birth = latest - (rng.beta(1.6, 2.6, n) * (latest - earliest)).astype(np.int64)
    adult = np.minimum(birth + 6575, as_of.toordinal())  # 18 years are 6574 or 6575 days
    first = adult + (rng.beta(1.1, 4.0, n) * (as_of.toordinal() - adult)).astype(np.int64)
    seq = rng.integers(0, 500, n) * 2 + male
    keys = ids.claim(_DISTRICT_CODE[home_i, home_d] * 10**11 + _ymd(birth) * 1000 + seq)
    checks = _check_chars(keys)
    surname = rng.choice(len(SURNAMES), n, p=_SURNAME_P)
    given = rng.integers(0, 1 << 30, (n, 2))
    two_char = rng.random(n) < 0.62
    classes = rng.choice(len(CLASS_MIX), n, p=_CLASS_P)
    status_bits = (rng.random((n, len(STATUS_RATES))) < _STATUS_P) @ (1 << np.arange(len(STATUS_RATES)))
    lapsed = rng.random(n) < LAPSED_RATE
    points = np.where(rng.random(n) < POINTS_RATE, rng.choice(_POINTS, n), 0)
    compliant = rng.random(n) < COMPLIANT_PHOTO_RATE
    road, house, flat = rng.integers(0, len(ROADS), n), rng.integers(1, 999, n), rng.integers(0, 3 * 30 * 6 * 28, n)
    file_suffix = (np.arange(start, start + n, dtype=np.int64) * 36_413_977 + file_offset) % 10**8

    rows = zip(
        *(
            a.tolist()
            for a in (auth_i, male, surname, given[:, 0], given[:, 1], two_char, first, birth, lapsed, status_bits)
        ),
        *(a.tolist() for a in (points, keys, file_suffix, addr_d, road, house, flat, classes, compliant)),
        checks,
        strict=True,
    )
    for auth_n, is_male, sur, g1, g2, two, first_day, birth_day, late, bits, pts, key, suffix, *rest in rows:
        district, road_n, house_n, flat_n, class_n, has_photo, check = rest
        auth = PILOT_AUTHORITIES[auth_n]
        names = MALE_GIVEN if is_male else FEMALE_GIVEN
        name = SURNAMES[sur][0] + names[g1 % len(names)] + (names[g2 % len(names)] if two else "")
        fi = date.fromordinal(first_day)
        term, valid_from, valid_until, expired = _validity(fi, as_of, late)
        statuses, blocking, over_limit = _statuses(bits, expired)
        if over_limit:
            pts = 12 + pts % 7
        yield (
            {
                "number": f"{key:017d}{check}",
                "file_number": f"{auth.code[:4]}{suffix:08d}",
                "name": name,
                "sex": 1 if is_male else 2,
                "nationality": "CHN",
                "birth_date": date.fromordinal(birth_day).isoformat(),
                "address": _address(auth.code, auth.city, district, road_n, house_n, flat_n),
                "classes": CLASS_MIX[class_n][0],
                "first_issue": fi.isoformat(),
                "validity_term": term,
                "valid_from": valid_from.isoformat(),
                "valid_until": valid_until.isoformat() if valid_until else None,
                "authority_code": auth.code,
                "authority_name": auth.name,
                "authority_city": auth.city,
                "statuses": statuses,
                "points": pts,
                "points_cycle_start": cycle_start(fi, as_of).isoformat() if pts else None,
                "photo_sha256": None,
                "photo_compliant": has_photo,
                "mobile": registered_mobile(key),
            },
            blocking or expired,
        )


_MOBILE_PREFIXES = ("130", "135", "136", "138", "139", "150", "158", "177", "186", "188", "199")


def registered_mobile(key: int) -> str:
    """A synthetic 登记手机号, derived from the licence's key alone (so the random stream, and every other column of
    a seeded file, stays as it was): a real-looking prefix and eight digits from a hash of the key."""
    digest = int.from_bytes(hashlib.blake2b(key.to_bytes(8, "big"), digest_size=8).digest(), "big")
    return f"{_MOBILE_PREFIXES[digest % len(_MOBILE_PREFIXES)]}{(digest >> 8) % 10**8:08d}"


def _validity(first: date, as_of: date, lapsed: bool) -> tuple[str, date, date | None, bool]:
    """The validity on `as_of` (6 years from the first issue, then 10, then 长期): (term, from, until, expired).
    A lapsed holder keeps the period before the current one, which has ended."""
    periods: list[tuple[str, date, date | None]] = []
    start = first
    for term, years in (("6", 6), ("10", 10)):
        end = add_years(start, years)
        periods.append((term, start, end))
        if as_of <= end:
            break
        start = end
    else:
        periods.append(("long", start, None))
    if lapsed and len(periods) > 1:
        return (*periods[-2], True)
    return (*periods[-1], False)


@lru_cache(maxsize=4096)
def _statuses(bits: int, expired: bool) -> tuple[str, bool, bool]:
    """(status codes as the domain formats them, does any block an e-licence, is 超分 among them)."""
    codes = "".join(code for k, (code, _) in enumerate(STATUS_RATES) if bits >> k & 1) + ("M" if expired else "")
    held = parse_statuses(codes or "A")
    return format_statuses(held), any(STATUS_TABLE[s].blocks_issuance for s in held), "B" in codes


def _address(code: str, city: str, district: int, road: int, house: int, flat: int) -> str:
    """City, district, road and number; two in three also a flat (栋/单元/室)."""
    place = f"{city}市{DISTRICTS[code][district][1]}{ROADS[road]}{house}号"
    if flat % 3 == 0:
        return place
    flat //= 3
    return f"{place}{flat % 30 + 1}栋{flat // 30 % 6 + 1}单元{flat // 180 % 28 + 1}{flat % 4 + 1:02d}室"


def _ymd(ordinals: np.ndarray) -> np.ndarray:
    """YYYYMMDD integers from proleptic Gregorian ordinals."""
    days = (ordinals - date(1970, 1, 1).toordinal()).astype("datetime64[D]")
    years, months = days.astype("datetime64[Y]"), days.astype("datetime64[M]")
    y = years.astype(np.int64) + 1970
    ymd: np.ndarray = y * 10_000 + ((months - years).astype(np.int64) + 1) * 100 + (days - months).astype(np.int64) + 1
    return ymd


def _check_chars(keys: np.ndarray) -> list[str]:
    """ISO 7064 MOD 11-2 check characters (GB 11643) of 17-digit keys, vectorised."""
    digits = (keys[:, None] // (10 ** np.arange(16, -1, -1, dtype=np.int64))) % 10
    return [CHECK_CHARS[r] for r in (digits @ np.array(WEIGHTS, dtype=np.int64)) % 11]


def _p(weights: list[float]) -> np.ndarray:
    w: np.ndarray = np.array(weights, dtype=float)
    return w / float(w.sum())


# --- Tables (synthetic data; one place to adjust the mix) --------------------------------------------------------

DISTRICTS: dict[str, tuple[tuple[str, str], ...]] = {
    "110000": (
        ("110101", "东城区"),
        ("110102", "西城区"),
        ("110105", "朝阳区"),
        ("110106", "丰台区"),
        ("110108", "海淀区"),
    ),
    "120000": (("120101", "和平区"), ("120102", "河东区"), ("120103", "河西区"), ("120104", "南开区")),
    "210100": (("210102", "和平区"), ("210103", "沈河区"), ("210104", "大东区"), ("210105", "皇姑区")),
    "210200": (("210202", "中山区"), ("210203", "西岗区"), ("210204", "沙河口区"), ("210211", "甘井子区")),
    "310000": (("310101", "黄浦区"), ("310104", "徐汇区"), ("310105", "长宁区"), ("310115", "浦东新区")),
    "320200": (("320205", "锡山区"), ("320206", "惠山区"), ("320211", "滨湖区"), ("320213", "梁溪区")),
    "320500": (("320505", "虎丘区"), ("320506", "吴中区"), ("320507", "相城区"), ("320508", "姑苏区")),
    "320900": (("320902", "亭湖区"), ("320903", "盐都区"), ("320904", "大丰区")),
    "321200": (("321202", "海陵区"), ("321203", "高港区"), ("321204", "姜堰区")),
    "330200": (("330203", "海曙区"), ("330205", "江北区"), ("330206", "北仑区"), ("330212", "鄞州区")),
    "330400": (("330402", "南湖区"), ("330411", "秀洲区")),
    "360100": (("360102", "东湖区"), ("360103", "西湖区"), ("360104", "青云谱区"), ("360111", "青山湖区")),
    "370100": (("370102", "历下区"), ("370103", "市中区"), ("370104", "槐荫区"), ("370105", "天桥区")),
    "370200": (("370202", "市南区"), ("370203", "市北区"), ("370211", "黄岛区"), ("370212", "崂山区")),
    "430100": (("430102", "芙蓉区"), ("430103", "天心区"), ("430104", "岳麓区"), ("430105", "开福区")),
    "440100": (("440103", "荔湾区"), ("440104", "越秀区"), ("440105", "海珠区"), ("440106", "天河区")),
    "440300": (("440303", "罗湖区"), ("440304", "福田区"), ("440305", "南山区"), ("440306", "宝安区")),
    "450100": (("450102", "兴宁区"), ("450103", "青秀区"), ("450105", "江南区"), ("450107", "西乡塘区")),
    "500000": (("500103", "渝中区"), ("500105", "江北区"), ("500106", "沙坪坝区"), ("500108", "南岸区")),
    "510100": (("510104", "锦江区"), ("510105", "青羊区"), ("510106", "金牛区"), ("510107", "武侯区")),
    "510300": (("510302", "自流井区"), ("510303", "贡井区"), ("510304", "大安区")),
    "510700": (("510703", "涪城区"), ("510704", "游仙区")),
    "511300": (("511302", "顺庆区"), ("511303", "高坪区"), ("511304", "嘉陵区")),
    "520100": (("520102", "南明区"), ("520103", "云岩区"), ("520111", "花溪区")),
    "530100": (("530102", "五华区"), ("530103", "盘龙区"), ("530111", "官渡区"), ("530112", "西山区")),
    "610100": (("610102", "新城区"), ("610103", "碑林区"), ("610104", "莲湖区"), ("610113", "雁塔区")),
    "640100": (("640104", "兴庆区"), ("640105", "西夏区"), ("640106", "金凤区")),
}
"""Districts (GB/T 2260 codes) of each pilot authority's city: birthplaces in ID numbers and addresses."""

CITY_WEIGHT: dict[str, float] = {
    "北京": 6, "上海": 5, "重庆": 5, "成都": 5, "广州": 4, "深圳": 4, "天津": 4, "西安": 3, "苏州": 3,
}  # fmt: skip
"""Relative numbers of drivers per city (others 1.5); rough, so that big cities dominate as they do."""

_COMMON = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
SURNAMES: tuple[tuple[str, float], ...] = (
    *((s, 1 / (rank + 6)) for rank, s in enumerate(_COMMON)),
    *((s, 0.002) for s in ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "令狐", "慕容")),
)
"""Common surnames by rank (weights fall off with rank), and a few two-character ones."""

MALE_GIVEN = "伟强磊军洋勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林欢阳建亮成峰晨博文志国东海家子轩睿泽天然毅一"
FEMALE_GIVEN = "芳娜敏静丽艳娟霞秀英玲燕萍红婷雪琳晶倩颖慧佳梦欣怡悦琪雨涵诗思妍婧瑶蕾薇月春兰凤洁莉丹璐露"
ROADS = (
    "人民路", "解放路", "中山路", "建设路", "和平路", "新华路", "长江路", "黄河路", "胜利路", "文化路", "友谊路",
    "光明路", "青年路", "滨江路", "东风路", "复兴路", "学府路", "科技路", "花园路", "朝阳路", "幸福路", "迎宾大道",
    "工业大道", "环城北路", "南京路", "北京路", "世纪大道", "金融街", "公园路", "体育路",
)  # fmt: skip

CLASS_MIX: tuple[tuple[str, float], ...] = (
    ("C1", 55), ("C2", 22), ("C1E", 5), ("B2", 4), ("E", 3), ("A2", 2.5), ("A1", 1.5), ("B1", 1.5),
    ("C2E", 1), ("C1D", 1), ("D", 0.5), ("A2E", 0.5), ("B2E", 0.5), ("A1A2", 0.3), ("C3", 0.3), ("C6", 0.3),
    ("A3", 0.2), ("C5", 0.2), ("F", 0.2), ("M", 0.1),
)  # fmt: skip
"""准驾车型 strings as printed and their relative frequency: mostly C1/C2."""

STATUS_RATES: tuple[tuple[str, float], ...] = (
    ("B", 0.010), ("C", 0.003), ("D", 0.020), ("E", 0.002), ("F", 0.010), ("G", 0.005),
    ("H", 0.050), ("I", 0.010), ("J", 0.002), ("P", 0.020), ("S", 0.010),
)  # fmt: skip
"""Chance of each status (independently); none of them means 正常. 逾期未换证 (M) follows from lapsed validity."""

_POINTS = np.array([1, 2, 3, 3, 3, 4, 6, 6, 7, 9, 10])
_AUTH_P = _p([CITY_WEIGHT.get(a.city, 1.5) for a in PILOT_AUTHORITIES])
_SURNAME_P = _p([w for _, w in SURNAMES])
_CLASS_P = _p([w for _, w in CLASS_MIX])
_STATUS_P = np.array([p for _, p in STATUS_RATES])
_DISTRICT_COUNT = np.array([len(DISTRICTS[a.code]) for a in PILOT_AUTHORITIES])
_DISTRICT_CODE = np.array(
    [
        [int(DISTRICTS[a.code][j % len(DISTRICTS[a.code])][0]) for j in range(max(_DISTRICT_COUNT))]
        for a in PILOT_AUTHORITIES
    ]
)
