"""Every region of China resolves, by name or code; a name shared by several regions is refused
with its candidates; an unknown name is said to be unknown, never "corrected" to another
place."""

from __future__ import annotations

from importlib import resources

import pytest

from profiles.regions import AmbiguousRegionError, UnknownRegionError, load_regions


def test_the_table_holds_every_province_and_county_of_china():
    regions = load_regions()
    assert len(regions.provinces) == 31  # 23 provinces, 5 autonomous regions, 4 municipalities
    assert len(regions.districts) > 2_800
    assert regions.name_of("654324") == "新疆维吾尔自治区阿勒泰地区哈巴河县"
    assert regions.name_of("469027") == "海南省乐东黎族自治县"  # under the province directly
    size = len(resources.files("profiles").joinpath("data/regions.csv").read_bytes())
    assert size < 300_000


def test_every_region_resolves_by_its_code_and_by_the_name_it_is_listed_under():
    regions = load_regions()
    assert len(regions.names) == len(regions.by_code)
    for name, (code, region) in zip(regions.names, regions.by_code.items(), strict=True):
        assert regions.resolve(code) is region
        assert regions.resolve(name) is region, name


def test_hangzhou_resolves_and_is_no_longer_suggested_as_guangzhou():
    regions = load_regions()
    assert regions.prefix("杭州市") == "3301"
    assert [r.name for r in regions.chain("3301")] == ["浙江省", "杭州市"]


def test_xihu_district_of_hangzhou_resolves_to_hangzhou_and_zhejiang():
    regions = load_regions()
    for written in ("杭州市西湖区", "浙江省西湖区", "浙江省杭州市西湖区", "330106"):
        region = regions.resolve(written)
        assert region.code == "330106"
        assert [r.name for r in regions.chain(region.code)] == ["浙江省", "杭州市", "西湖区"]


@pytest.mark.parametrize(("name", "full_names"), [
    ("朝阳区", ["北京市朝阳区", "吉林省长春市朝阳区"]),
    ("西湖区", ["浙江省杭州市西湖区", "江西省南昌市西湖区"]),  # 西湖区 alone is two places
    ("南山区", ["黑龙江省鹤岗市南山区", "广东省深圳市南山区"]),
])
def test_a_name_shared_by_several_regions_is_refused_with_the_candidates(name, full_names):
    with pytest.raises(AmbiguousRegionError) as caught:
        load_regions().prefix(name)
    assert [c.full_name for c in caught.value.candidates] == full_names
    message = str(caught.value)
    assert f"'{name}' 不唯一" in message and "请写明上级" in message
    for full in full_names:
        assert full in message


def test_a_shared_name_resolves_with_its_parent():
    regions = load_regions()
    assert regions.prefix("北京市朝阳区") == "110105"
    assert regions.prefix("长春市朝阳区") == "220104"
    assert regions.prefix("吉林省朝阳区") == "220104"


def test_an_unknown_name_says_so_and_suggests_no_other_place():
    with pytest.raises(UnknownRegionError) as caught:
        load_regions().prefix("杭洲市")  # a typo of 杭州市; 广州市 is not what was meant
    assert caught.value.suggestion is None and caught.value.candidates == ()
    message = str(caught.value)
    assert "没有 '杭洲市'" in message and "广州" not in message and "杭州" not in message


def test_a_short_form_suggests_only_the_region_it_abbreviates():
    regions = load_regions()
    with pytest.raises(UnknownRegionError) as caught:
        regions.prefix("杭州")
    assert caught.value.suggestion == "杭州市"
    with pytest.raises(UnknownRegionError) as several:
        regions.prefix("朝阳")
    assert several.value.suggestion is None  # 朝阳市, 朝阳县 and two 朝阳区: all listed
    assert {"北京市朝阳区", "长春市朝阳区", "朝阳市"} <= set(several.value.candidates)


def test_a_prefecture_with_a_county_of_the_same_name_is_one_region():
    regions = load_regions()
    assert regions.prefix("东莞市") == "4419"  # 441900 is inside it: not a second 东莞市
    assert regions.name_of("441900") == "广东省东莞市"
