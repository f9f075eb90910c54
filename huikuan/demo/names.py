"""Deterministic, realistic customer master data (names, 统一社会信用代码, contacts, behaviours).

Pure Python driven by a caller-supplied ``random.Random``: the same seed gives the same customers.
Shared by the demo loader (``huikuan.demo.seed``) and the bench generator (``bench/generate.py``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from pypinyin import lazy_pinyin

from huikuan.common.identifiers import (
    USCC_CHARS,
    org_code_check_char,
    pinyin_full,
    pinyin_initials,
    uscc_check_char,
)

# (city, English, region, administrative division code)
CITIES: list[tuple[str, str, str, str]] = [
    ("上海", "Shanghai", "华东", "310115"), ("杭州", "Hangzhou", "华东", "330106"), ("苏州", "Suzhou", "华东", "320505"),
    ("南京", "Nanjing", "华东", "320106"), ("宁波", "Ningbo", "华东", "330212"), ("无锡", "Wuxi", "华东", "320214"),
    ("合肥", "Hefei", "华东", "340104"), ("济南", "Jinan", "华东", "370102"), ("青岛", "Qingdao", "华东", "370212"),
    ("福州", "Fuzhou", "华东", "350102"), ("厦门", "Xiamen", "华东", "350206"), ("温州", "Wenzhou", "华东", "330302"),
    ("广州", "Guangzhou", "华南", "440106"), ("深圳", "Shenzhen", "华南", "440305"), ("东莞", "Dongguan", "华南", "441900"),
    ("佛山", "Foshan", "华南", "440604"), ("珠海", "Zhuhai", "华南", "440402"), ("南宁", "Nanning", "华南", "450103"),
    ("北京", "Beijing", "华北", "110108"), ("天津", "Tianjin", "华北", "120116"), ("石家庄", "Shijiazhuang", "华北", "130102"),
    ("太原", "Taiyuan", "华北", "140105"), ("武汉", "Wuhan", "华中", "420106"), ("长沙", "Changsha", "华中", "430104"),
    ("郑州", "Zhengzhou", "华中", "410105"), ("南昌", "Nanchang", "华中", "360103"), ("成都", "Chengdu", "西南", "510107"),
    ("重庆", "Chongqing", "西南", "500112"), ("昆明", "Kunming", "西南", "530102"), ("贵阳", "Guiyang", "西南", "520102"),
    ("西安", "Xi'an", "西北", "610113"), ("兰州", "Lanzhou", "西北", "620102"), ("沈阳", "Shenyang", "东北", "210102"),
    ("大连", "Dalian", "东北", "210204"), ("长春", "Changchun", "东北", "220102"), ("哈尔滨", "Harbin", "东北", "230103"),
]
# regions owned by the east team; the rest belong to the south team
EAST_REGIONS = {"华东", "华北", "东北"}

WORDS = [
    "恒通", "鑫达", "永盛", "金桥", "瑞丰", "宏远", "天成", "博源", "嘉禾", "联创", "海纳", "卓越", "顺达", "昌盛",
    "华信", "锦程", "德润", "长风", "启航", "同创", "立信", "盛世", "凯旋", "蓝天", "祥和", "泰和", "振华", "安泰",
    "明辉", "富源", "恒远", "华瑞", "正源", "和信", "东升", "新宇", "汇通", "众诚", "广益", "润泽", "银河", "九州",
    "中鼎", "天宇", "合力", "鼎盛", "弘毅", "沃德", "晨光", "远航", "精工", "华东", "南方", "北辰", "西部", "利达",
]
# (name part, English, industry label)
INDUSTRIES: list[tuple[str, str, str]] = [
    ("机械", "Machinery", "机械制造"), ("机电设备", "Electromechanical Equipment", "机械制造"),
    ("电子", "Electronics", "电子元器件"), ("电子科技", "Electronic Technology", "电子元器件"),
    ("化工", "Chemical", "化工"), ("精细化工", "Fine Chemicals", "化工"),
    ("贸易", "Trading", "批发贸易"), ("商贸", "Commerce", "批发贸易"),
    ("建材", "Building Materials", "建材"), ("物流", "Logistics", "物流运输"),
    ("食品", "Foods", "食品饮料"), ("纺织", "Textile", "纺织服装"), ("服饰", "Apparel", "纺织服装"),
    ("医疗器械", "Medical Devices", "医疗器械"), ("汽车配件", "Auto Parts", "汽车零部件"),
    ("新能源", "New Energy", "新能源"), ("包装材料", "Packaging", "包装印刷"), ("五金", "Hardware", "五金工具"),
    ("塑胶", "Plastics", "橡胶塑料"), ("信息技术", "Information Technology", "信息技术"),
    ("环保科技", "Environmental Technology", "环保"), ("家居", "Home Furnishing", "家具家居"),
    ("金属材料", "Metals", "金属材料"), ("仪器仪表", "Instruments", "仪器仪表"),
]
SUFFIXES = ["有限公司"] * 8 + ["股份有限公司", "有限责任公司"]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国文辉鹏飞宇浩然婷雪琳晨阳欣怡子涵思远志刚海燕红梅"
TITLES = ["财务经理", "采购经理", "总经理", "出纳", "会计", "财务总监", "采购专员"]
EN_TITLES = ["Finance Manager", "Purchasing Manager", "General Manager", "Accounts Payable"]
EN_GIVEN = ["David", "Lisa", "Kevin", "Grace", "Jason", "Emily", "Michael", "Sophie", "Daniel", "Anna"]
# mobile prefixes of the three carriers (all valid for libphonenumber)
MOBILE_PREFIXES = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153",
                   "155", "156", "158", "159", "177", "180", "181", "185", "186", "187", "188", "189", "199"]

BEHAVIOURS = ("prompt", "discount", "late", "deteriorating", "disputed", "overpayer", "defaulted")
# share of customers per behaviour (the first customers of each kind are placed deterministically
# so that even a tiny demo has every behaviour)
BEHAVIOUR_WEIGHTS = {"prompt": 30, "discount": 10, "late": 25, "deteriorating": 10, "disputed": 10,
                     "overpayer": 8, "defaulted": 7}
TERM_BY_BEHAVIOUR = {
    "prompt": ["N30", "N60", "EOM30", "S3070", "N90"],
    "discount": ["D210N30"],
    "late": ["N30", "N60", "EOM30", "N90", "S3070"],
    "deteriorating": ["N30", "EOM30", "N60"],
    "disputed": ["N30", "N60", "EOM30", "S3070"],
    "overpayer": ["N30", "EOM30", "N60"],
    "defaulted": ["N30", "N60", "EOM30"],
}


@dataclass
class ContactSpec:
    name: str
    title: str
    phone: str  # E.164
    email: str
    wechat_id: str
    preferred_channel: str
    language: str
    is_primary: bool


@dataclass
class CustomerSpec:
    index: int
    code: str
    name: str
    short_name: str
    name_initials: str
    name_pinyin: str
    credit_code: str
    region: str
    industry: str
    address: str
    city: str
    behaviour: str
    term_code: str
    owner_slot: int  # index into the salespeople of the customer's team
    team: str  # "east" | "south"
    size: float  # relative sales volume
    english: bool = False
    group: str = ""
    parent_index: int | None = None
    contacts: list[ContactSpec] = field(default_factory=list)


def org_code(rng: random.Random) -> str:
    """A 9-character organisation code (GB 11714) with its own check digit."""
    body = "".join(rng.choice("0123456789") for _ in range(8))
    return body + org_code_check_char(body)


def make_uscc(rng: random.Random, division: str) -> str:
    """统一社会信用代码: 9 (market regulator) + 1 (enterprise) + division + organisation code + check."""
    first17 = "91" + division + org_code(rng)
    assert all(ch in USCC_CHARS for ch in first17)
    return first17 + uscc_check_char(first17)


def mobile(rng: random.Random) -> str:
    return "+86" + rng.choice(MOBILE_PREFIXES) + "".join(rng.choice("0123456789") for _ in range(8))


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


def _pinyin(text: str) -> str:
    return "".join(lazy_pinyin(text)).replace("'", "").lower()


def _contacts(rng: random.Random, company_word: str, english: bool, n: int) -> list[ContactSpec]:
    domain = f"{_pinyin(company_word)}{rng.choice(['', '-group', 'tech', 'cn'])}.{rng.choice(['com', 'com.cn', 'cn'])}"
    out = []
    for i in range(n):
        name = person_name(rng)
        if english and i == 0:
            given = rng.choice(EN_GIVEN)
            display = f"{given} {''.join(lazy_pinyin(name[0])).title()}"
            title = rng.choice(EN_TITLES)
            language = "en"
            channel = rng.choice(["email", "email", "phone"])
        else:
            display = name
            title = rng.choice(TITLES)
            language = "zh-hans"
            channel = rng.choices(["wechat", "phone", "email", "sms"], weights=[40, 30, 25, 5])[0]
        py = _pinyin(name)
        out.append(ContactSpec(
            name=display, title=title, phone=mobile(rng), email=f"{py}{rng.randint(1, 99) if rng.random() < 0.3 else ''}@{domain}",
            wechat_id=rng.choice([f"wxid_{''.join(rng.choice('abcdefghijkmnpqrstuvwxyz0123456789') for _ in range(14))}",
                                  f"{py}{rng.randint(100, 9999)}"]),
            preferred_channel=channel, language=language, is_primary=i == 0,
        ))
    return out


def _pick_behaviour(rng: random.Random, index: int) -> str:
    if index < len(BEHAVIOURS):
        return BEHAVIOURS[index]
    kinds = list(BEHAVIOUR_WEIGHTS)
    return rng.choices(kinds, weights=[BEHAVIOUR_WEIGHTS[k] for k in kinds])[0]


def generate_customers(rng: random.Random, count: int, *, groups: int | None = None,
                       code_prefix: str = "C", with_contacts: bool = True) -> list[CustomerSpec]:
    """``count`` customers with unique names; about 4% belong to groups with a parent company."""
    used: set[str] = set()
    out: list[CustomerSpec] = []
    n_groups = max(1, count // 25) if groups is None else groups
    width = max(5, len(str(count)))

    def unique_name(city, word, ind, suffix):
        name = f"{city}{word}{ind}{suffix}"
        n = 1
        while name in used:
            n += 1
            name = f"{city}{word}{ind}{n}{suffix}" if n > 3 else f"{city}{rng.choice(WORDS)}{ind}{suffix}"
        used.add(name)
        return name

    def new(index, *, word=None, group="", parent=None, hq=False):
        city, city_en, region, division = rng.choice(CITIES)
        word = word or rng.choice(WORDS)
        ind, ind_en, industry = rng.choice(INDUSTRIES)
        english = not hq and rng.random() < 0.06
        if hq:
            name = unique_name("", word, "集团", "有限公司")
            short = f"{word}集团"
        elif english:
            ascii_word = "".join(p.title() for p in lazy_pinyin(word))
            name = f"{city_en} {ascii_word} {ind_en} Co., Ltd."
            while name in used:
                name = name.replace(" Co., Ltd.", f" ({rng.randint(2, 99)}) Co., Ltd.")
            used.add(name)
            short = f"{ascii_word} {ind_en.split()[0]}"
        else:
            name = unique_name(city, word, ind, rng.choice(SUFFIXES))
            short = f"{word}{ind[:2]}"
        behaviour = _pick_behaviour(rng, index)
        team = "east" if region in EAST_REGIONS else "south"
        spec = CustomerSpec(
            index=index, code=f"{code_prefix}{index + 1:0{width}d}", name=name, short_name=short,
            name_initials=pinyin_initials(name)[:120],
            name_pinyin=" ".join(p for p in (pinyin_full(name), pinyin_full(short)) if p)[:400], credit_code=make_uscc(rng, division), region=region,
            industry=industry, address=f"{city}市{rng.choice(['工业园区', '经济开发区', '高新区', '滨江路', '人民路', '建设大道'])}"
                                      f"{rng.randint(1, 999)}号",
            city=city, behaviour=behaviour, term_code=rng.choice(TERM_BY_BEHAVIOUR[behaviour]),
            owner_slot=rng.randrange(6), team=team, size=rng.paretovariate(1.6), english=english, group=group,
            parent_index=parent,
        )
        if with_contacts:
            spec.contacts = _contacts(rng, word, english, rng.choice((1, 2, 2, 3)))
        return spec

    i = 0
    group_words = rng.sample(WORDS, min(n_groups, len(WORDS))) if count >= 10 else []
    for word in group_words:
        if i >= count:
            break
        hq = new(i, word=word, group=f"{word}集团", hq=True)
        hq.behaviour = "prompt" if i >= len(BEHAVIOURS) else hq.behaviour
        out.append(hq)
        i += 1
        for _ in range(rng.randint(2, 4)):
            if i >= count:
                break
            out.append(new(i, word=word, group=hq.group, parent=hq.index))
            i += 1
    while i < count:
        out.append(new(i))
        i += 1
    return out
