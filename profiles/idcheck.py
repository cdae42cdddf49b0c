"""Check characters of the two profile keys.

* 统一社会信用代码 (USCC), GB 32100-2015: 18 characters over the 31-character alphabet
  ``0123456789ABCDEFGHJKLMNPQRTUWXY`` (no I O S V Z): 登记管理部门码 (1), 机构类别码 (1),
  登记管理机关行政区划码 (6 digits), 主体标识码 = the GB 11714 organisation code (8 characters
  and its own check character), and a final check character (weights 3^i mod 31).
* 公民身份号码, GB 11643-1999: 6-digit address code, 8-digit birth date (a real date),
  3-digit sequence, and an ISO 7064 MOD 11-2 check character (0-9 or X).

Validation returns a reason (Chinese text and a code in brackets) or None when the key is
valid. The ``*_problems`` functions do the same for a whole column at once; the scalar
functions are those applied to a single value, so both always agree.

>>> uscc_problem("91350100M000100Y43") is None
True
>>> uscc_problem("91350100M000100Y44")
'统一社会信用代码校验码错误 [key_check_char]'
>>> id_number_problem("11010519491231002X") is None
True
>>> id_number_problem("110105194902300021")
'身份证号中的出生日期不存在 [id_birth_date]'

Generation (used by the synthetic population) works on numpy arrays:

>>> import numpy as np
>>> uscc_with_check(np.array([b"91350100M000100Y4"])).to_list()
['91350100M000100Y43']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
import pyarrow as pa

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = np.array([pow(3, i, 31) for i in range(17)], dtype=np.int64)
ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
ID_WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)], dtype=np.int64)
ID_CHECK = "10X98765432"

# 登记管理部门码 (GB 32100-2015 table 1) and the 机构类别码 each one allows.
USCC_DEPARTMENTS: dict[str, str] = {
    "1": "1239",  # 机构编制: 机关, 事业单位, 中央编办直接管理的群众团体, 其他
    "2": "19",  # 外交
    "3": "123459",  # 司法行政
    "4": "19",  # 文化
    "5": "1239",  # 民政: 社会团体, 民办非企业单位, 基金会, 其他
    "6": "129",  # 旅游
    "7": "129",  # 宗教
    "8": "19",  # 工会
    "9": "123",  # 工商: 企业, 个体工商户, 农民专业合作社
    "A": "19",  # 中央军委改革和编制办公室
    "N": "1239",  # 农业
    "Y": "1",  # 其他
}

REASONS: dict[str, str] = {
    "key_missing": "主键为空",
    "key_length": "长度应为18位",
    "key_charset": "含不允许的字符",
    "uscc_department": "统一社会信用代码登记管理部门码无效",
    "uscc_category": "统一社会信用代码机构类别码与登记管理部门不符",
    "uscc_org_check": "统一社会信用代码中组织机构代码校验码错误",
    "id_birth_date": "身份证号中的出生日期不存在",
    "key_check_char": "校验码错误",
}


def reason(code: str, *, subject: str = "") -> str:
    """The reason text for a problem code: Chinese, then the code in brackets."""
    text = REASONS[code]
    if code == "key_check_char":
        text = subject + text
    return f"{text} [{code}]"


def _lookup_table(alphabet: str) -> np.ndarray:
    table = np.full(256, -1, dtype=np.int64)
    for i, ch in enumerate(alphabet):
        table[ord(ch)] = i
    return table


_USCC_VALUE = _lookup_table(USCC_ALPHABET)
# GB 11714 values: digits 0-9, letters A=10 ... Z=35 (the full Latin alphabet).
_ORG_VALUE = _lookup_table("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_DIGIT_VALUE = _lookup_table("0123456789")
_USCC_ALLOWED = np.zeros((256, 256), dtype=bool)
for _dept, _cats in USCC_DEPARTMENTS.items():
    for _cat in _cats:
        _USCC_ALLOWED[ord(_dept), ord(_cat)] = True
_USCC_KNOWN_DEPT: np.ndarray = np.asarray(_USCC_ALLOWED.any(axis=1))
_USCC_CHARS = np.frombuffer(USCC_ALPHABET.encode(), dtype=np.uint8)
_ID_CHARS = np.frombuffer(ID_CHECK.encode(), dtype=np.uint8)


def _as_bytes(values: Sequence[str] | pl.Series) -> np.ndarray:
    """(n, 18) uint8 array of ASCII strings that are known to be 18 characters long."""
    if isinstance(values, pl.Series) and values.len() and values.null_count() == 0:
        # zero-copy path: the Arrow data buffer of n 18-byte strings is n * 18 contiguous bytes
        arrow = values.to_arrow()
        if arrow.type != pa.large_string():
            arrow = arrow.cast(pa.large_string())
        offsets = np.frombuffer(arrow.buffers()[1], dtype=np.int64)
        offsets = offsets[arrow.offset : arrow.offset + len(arrow) + 1]
        data = np.frombuffer(arrow.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
        if data.size == 18 * len(arrow):
            return data.reshape(-1, 18)
    items = values.to_list() if isinstance(values, pl.Series) else list(values)
    if not items:
        return np.zeros((0, 18), dtype=np.uint8)
    return np.array(items, dtype="S18").view(np.uint8).reshape(-1, 18)


def _weighted_sum(codes: np.ndarray, table: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """sum_i table[codes[:, i]] * weights[i], column by column (fast and small in memory)."""
    total = np.zeros(len(codes), dtype=np.int64)
    for i, weight in enumerate(weights):
        total += table[codes[:, i]] * weight
    return total


def _org_check_values(body: np.ndarray) -> np.ndarray:
    """GB 11714 check values (0..10, 10 meaning 'X') of (n, 8) uint8 organisation-code bodies."""
    total = _weighted_sum(body, _ORG_VALUE, ORG_WEIGHTS)
    return (11 - total % 11) % 11


def _org_check_chars(body: np.ndarray) -> np.ndarray:
    values = _org_check_values(body)
    return np.where(values == 10, ord("X"), values + ord("0")).astype(np.uint8)


def _uscc_check_chars(first17: np.ndarray) -> np.ndarray:
    total = _weighted_sum(first17, _USCC_VALUE, USCC_WEIGHTS)
    return _USCC_CHARS[(31 - total % 31) % 31]


def _id_check_chars(first17: np.ndarray) -> np.ndarray:
    total = _weighted_sum(first17, _DIGIT_VALUE, ID_WEIGHTS)
    return _ID_CHARS[total % 11]


_CODES = tuple(REASONS)


def _shape_codes(keys: pl.Series, pattern: str) -> np.ndarray:
    """Index into ``_CODES`` of the first shape problem per key, -1 where the shape is fine."""
    k = pl.col("k")
    out = pl.DataFrame({"k": keys.cast(pl.String)}).select(
        pl.when(k.is_null() | (k.str.strip_chars() == ""))
        .then(_CODES.index("key_missing"))
        .when(k.str.len_chars() != 18)
        .then(_CODES.index("key_length"))
        .when(~k.str.contains(pattern))
        .then(_CODES.index("key_charset"))
        .otherwise(-1)
        .cast(pl.Int8)
    )
    return out.to_series().to_numpy().copy()


def _to_reasons(codes: np.ndarray, *, subject: str) -> pl.Series:
    if not (codes >= 0).any():  # every key valid (the rule): no lookup
        return pl.Series("problem", [None], dtype=pl.String).new_from_index(0, len(codes))
    texts = {i: reason(c, subject=subject) for i, c in enumerate(_CODES)}
    return pl.Series("problem", codes, dtype=pl.Int8).replace_strict(
        texts, default=None, return_dtype=pl.String
    )


def uscc_problems(keys: pl.Series) -> pl.Series:
    """Reason per USCC in ``keys`` (null where valid). Keys are taken as given (upper case)."""
    problems = _shape_codes(keys, f"^[{USCC_ALPHABET}]{{18}}$")
    ok = problems < 0
    if ok.any():
        codes = _as_bytes(keys.filter(pl.Series(ok)))
        dept, cat = codes[:, 0], codes[:, 1]
        cat_ok = _USCC_ALLOWED[dept, cat]
        dept_ok = _USCC_KNOWN_DEPT[dept]
        region_ok = ((codes[:, 2:8] >= ord("0")) & (codes[:, 2:8] <= ord("9"))).all(axis=1)
        org_ok = _org_check_chars(codes[:, 8:16]) == codes[:, 16]
        check_ok = _uscc_check_chars(codes[:, :17]) == codes[:, 17]
        sub = np.full(len(codes), -1, dtype=np.int8)
        for good, code in (
            (check_ok, "key_check_char"),
            (org_ok, "uscc_org_check"),
            (region_ok, "key_charset"),
            (cat_ok, "uscc_category"),
            (dept_ok, "uscc_department"),
        ):
            sub[~good] = _CODES.index(code)
        problems[ok] = sub
    return _to_reasons(problems, subject="统一社会信用代码")


def id_number_problems(keys: pl.Series) -> pl.Series:
    """Reason per 公民身份号码 in ``keys`` (null where valid). Keys are taken as given."""
    problems = _shape_codes(keys, r"^[0-9]{17}[0-9X]$")
    ok = problems < 0
    if ok.any():
        subset = keys.cast(pl.String).filter(pl.Series(ok))
        codes = _as_bytes(subset)
        birth = subset.str.slice(6, 8).str.to_date("%Y%m%d", strict=False)
        date_ok = (birth.is_not_null() & (birth.dt.year() >= 1800)).fill_null(False).to_numpy()
        check_ok = _id_check_chars(codes[:, :17]) == codes[:, 17]
        sub = np.full(len(codes), -1, dtype=np.int8)
        sub[~check_ok] = _CODES.index("key_check_char")
        sub[~date_ok] = _CODES.index("id_birth_date")
        problems[ok] = sub
    return _to_reasons(problems, subject="身份证号")


def uscc_problem(code: str) -> str | None:
    """Why ``code`` is not a valid 统一社会信用代码, or None when it is."""
    return uscc_problems(pl.Series([code], dtype=pl.String))[0]


def id_number_problem(code: str) -> str | None:
    """Why ``code`` is not a valid 公民身份号码, or None when it is."""
    return id_number_problems(pl.Series([code], dtype=pl.String))[0]


def _first17(values: np.ndarray) -> np.ndarray:
    if values.dtype == np.uint8 and values.ndim == 2:
        return values
    return np.asarray(values, dtype="S17").view(np.uint8).reshape(-1, 17)


def _text(codes: np.ndarray) -> pl.Series:
    return pl.Series(np.ascontiguousarray(codes).view("S18").ravel()).cast(pl.String)


def uscc_with_check(first17: np.ndarray) -> pl.Series:
    """Complete USCCs from their first 17 characters (``S17`` bytes or an (n, 17) uint8
    array); the organisation-code check character (position 17) must already be right
    (see ``org_code_with_check``)."""
    codes = _first17(first17)
    return _text(np.concatenate([codes, _uscc_check_chars(codes)[:, None]], axis=1))


def org_code_with_check(bodies: np.ndarray) -> np.ndarray:
    """(n, 9) uint8 organisation codes from (n, 8) uint8 bodies (GB 11714 check appended)."""
    return np.concatenate([bodies, _org_check_chars(bodies)[:, None]], axis=1)


def id_number_with_check(first17: np.ndarray) -> pl.Series:
    """Complete 公民身份号码 from their first 17 digits (``S17`` bytes or (n, 17) uint8)."""
    codes = _first17(first17)
    return _text(np.concatenate([codes, _id_check_chars(codes)[:, None]], axis=1))
