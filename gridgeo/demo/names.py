"""Fictitious Chinese names for places, roads and staff, drawn from a seeded generator.

Staff names are public contact data in the real system, so they look real here; residents'
names, phones and ID numbers are obviously fake (see :func:`fake_resident`).
"""

from __future__ import annotations

import numpy as np

PROVINCE = "河南省"
CITY = "洛阳市"
COUNTY = "示例县"

_PLACE_FIRST = ("黄柳杨石马白青龙王李张陈高上下东西南北前后大小中新老孙赵刘周吴郭何朱罗梁宋韩"
                "唐冯董曹袁邓许沈彭吕苏卢蒋蔡贾丁魏薛叶潘杜夏钟汪田任姜范方姚谭廖邹熊金陆郝孔"
                "崔康毛邱秦江史顾侯邵孟段雷桃杏梨枣松柏槐竹桑麻铁铜银玉红紫碧翠云凤鹤虎鹿")
_PLACE_SECOND = "沟庄坪岭河营寨坡湾店园川峪岔坝庙堡洼岗滩台窑垛峰山泉"
_TOWN_FIRST = "青潭合狮秋赤三庙陶叫冷白石栾潭城朱樊庙叶张陈赵狮合竹"
_TOWN_SECOND = "石头峪水扒涧庄河河关关村店峪寨沟川营坪桥"
_COMMUNITY = ("人民", "建设", "新华", "和平", "幸福", "东街", "西街", "文化", "团结", "光明",
              "胜利", "振兴")
_SEAT_STREETS = ("人民路", "建设路", "解放路", "文化路", "新华路", "中山路", "和平路", "胜利路",
                 "光明路", "幸福路", "振兴路", "兴业路", "迎宾路", "滨河路", "朝阳路", "育才路",
                 "青年路", "团结路", "友谊路", "工业路", "商贸街", "民主街", "健康路", "东风路",
                 "红旗路", "长青路", "花园路", "富民路", "安居路", "公园路", "前进街", "永安街")
_SURNAMES = ("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭"
             "吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦"
             "江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文")
_GIVEN = ("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚建华玉兰红飞鹏志国海林燕春雪梅文斌波"
          "辉宇浩凯亮成丹晶欣婷佳宁亚慧云峰新利民振宏保全喜福庆荣贵长松桂凤琴")
_DIGITS = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1 → 一, 12 → 十二, 30 → 三十 (enough for lane ordinals up to 99)."""
    if n < 10:
        return _DIGITS[n]
    tens, ones = divmod(n, 10)
    head = "" if tens == 1 else _DIGITS[tens]
    return head + "十" + (_DIGITS[ones] if ones else "")


def town_stems(seed: int, count: int) -> list[str]:
    """Distinct two-character town stems ("青石" → 青石镇) for a county of ``count`` towns."""
    stems = sorted({a + b for a in _TOWN_FIRST for b in _TOWN_SECOND if a != b})
    order = np.random.default_rng([seed, 7001]).permutation(len(stems))
    return [stems[i] for i in order[:count]]


def place_stems(rng: np.random.Generator, count: int, exclude: set[str]) -> list[str]:
    """Distinct two-character stems for villages and hamlets ("柳坪" → 柳坪村)."""
    chosen: list[str] = []
    seen = set(exclude)
    while len(chosen) < count:
        stem = str(rng.choice(list(_PLACE_FIRST))) + str(rng.choice(list(_PLACE_SECOND)))
        if stem not in seen and stem[0] != stem[1]:
            seen.add(stem)
            chosen.append(stem)
    return chosen


def community_stems(rng: np.random.Generator, count: int) -> list[str]:
    order = rng.permutation(len(_COMMUNITY))
    return [_COMMUNITY[i] for i in order[:count]]


def seat_streets(rng: np.random.Generator) -> list[str]:
    return [_SEAT_STREETS[i] for i in rng.permutation(len(_SEAT_STREETS))]


def person_names(rng: np.random.Generator, count: int) -> list[str]:
    """Fictitious names: a common surname and one or two given characters."""
    surnames = rng.integers(0, len(_SURNAMES), count)
    first = rng.integers(0, len(_GIVEN), count)
    second = rng.integers(0, len(_GIVEN), count)
    double = rng.random(count) < 0.6
    return [_SURNAMES[s] + _GIVEN[a] + (_GIVEN[b] if d else "")
            for s, a, b, d in zip(surnames, first, second, double, strict=True)]


def fake_phones(rng: np.random.Generator, count: int) -> list[str]:
    """Numbers no Chinese network issues: '100' and eight digits."""
    return [f"100{n:08d}" for n in rng.integers(0, 100_000_000, count)]


def fake_id_numbers(rng: np.random.Generator, count: int) -> list[str]:
    """18 characters like a resident ID, but with the impossible region code 000000."""
    return [f"000000{n:012d}" for n in rng.integers(0, 10**12, count)]


def fake_resident(number: int) -> str:
    return f"测试居民{number:04d}"
