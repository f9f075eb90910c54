"""The default policy and templates seeded on first use (``services.ensure_defaults``)."""

from .models import Action, Channel, Tone

# (offset, channels, template key, tone, action, minimum amount)
DEFAULT_STEPS = [
    (-7, [Channel.EMAIL], "reminder", Tone.REMINDER, Action.NOTIFY, "0"),
    (0, [Channel.EMAIL, Channel.SMS], "reminder", Tone.REMINDER, Action.NOTIFY, "0"),
    (7, [Channel.EMAIL, Channel.SMS], "demand", Tone.DEMAND, Action.NOTIFY, "100"),
    (15, [Channel.EMAIL, Channel.SMS, Channel.PHONE], "demand", Tone.DEMAND, Action.NOTIFY, "100"),
    (30, [Channel.EMAIL, Channel.LETTER, Channel.WECOM], "demand", Tone.DEMAND, Action.HOLD, "100"),
    (60, [Channel.EMAIL, Channel.LETTER, Channel.DINGTALK], "final", Tone.FINAL, Action.CASE, "100"),
]

_ZH_LIST = "{{ overdue_list }}"

TEMPLATES = {
    # key: {channel: {language: (subject, body)}}
    "reminder": {
        Channel.EMAIL: {
            "zh-hans": ("【付款提醒】{{ company_name }} 应收款项 {{ total }} 元",
                        "{{ customer_name }}：\n\n您好！贵司以下款项即将到期或已于今日到期，合计人民币 {{ total }} 元（{{ total_upper }}）：\n\n"
                        + _ZH_LIST + "\n\n请于 {{ final_payment_date }} 前汇至：\n开户银行：{{ bank_name }}\n户名：{{ bank_account_name }}\n账号：{{ bank_account_number }}\n"
                        "{% if portal_link %}\n在线查看对账单：{{ portal_link }}\n{% endif %}\n如已付款，请忽略本提醒。联系人：{{ contact_person }} {{ contact_phone }}\n\n{{ company_name }}\n{{ notice_date }}（编号 {{ notice_number }}）"),
            "en": ("Payment reminder from {{ company_name }}: {{ total }} due",
                   "Dear {{ customer_name }},\n\nThe following items are due soon or today, {{ total }} in total ({{ total_upper }}):\n\n"
                   + _ZH_LIST + "\n\nPlease pay by {{ final_payment_date }} to:\nBank: {{ bank_name }}\nAccount name: {{ bank_account_name }}\nAccount number: {{ bank_account_number }}\n"
                   "{% if portal_link %}\nYour statement online: {{ portal_link }}\n{% endif %}\nIf you have already paid, please ignore this reminder. Contact: {{ contact_person }} {{ contact_phone }}\n\n{{ company_name }}\n{{ notice_date }} (ref. {{ notice_number }})"),
        },
        Channel.SMS: {
            "zh-hans": ("", "【{{ company_name }}】{{ customer_name }}，您有 {{ item_count }} 笔款项合计 {{ total }} 元将于近期到期，请于 {{ final_payment_date }} 前付款。"),
            "en": ("", "{{ company_name }}: {{ customer_name }}, {{ item_count }} item(s) totalling {{ total }} are due. Please pay by {{ final_payment_date }}."),
        },
    },
    "demand": {
        Channel.EMAIL: {
            "zh-hans": ("【催款通知】{{ customer_name }} 逾期应收款 {{ total }} 元",
                        "{{ customer_name }}：\n\n截至 {{ notice_date }}，贵司以下款项已逾期，合计人民币 {{ total }} 元（{{ total_upper }}）：\n\n"
                        + _ZH_LIST + "\n\n{% if penalty_to_date %}按合同约定，截至今日的逾期违约金为 {{ penalty_to_date }} 元，合计应付 {{ total_with_penalty }} 元。\n{% endif %}"
                        "请于 {{ final_payment_date }} 前将上述款项汇至：\n开户银行：{{ bank_name }}\n户名：{{ bank_account_name }}\n账号：{{ bank_account_number }}\n\n"
                        "逾期未付，我司将暂停供货并保留依法追偿的权利。联系人：{{ contact_person }} {{ contact_phone }}\n\n{{ company_name }}\n催款函编号：{{ notice_number }}"),
            "en": ("Overdue notice: {{ total }} outstanding ({{ customer_name }})",
                   "Dear {{ customer_name }},\n\nAs of {{ notice_date }} the following items are overdue, {{ total }} in total ({{ total_upper }}):\n\n"
                   + _ZH_LIST + "\n\n{% if penalty_to_date %}Penalty interest to date under the contract: {{ penalty_to_date }}; total payable {{ total_with_penalty }}.\n{% endif %}"
                   "Please pay by {{ final_payment_date }} to:\nBank: {{ bank_name }}\nAccount name: {{ bank_account_name }}\nAccount number: {{ bank_account_number }}\n\n"
                   "Failing payment we will suspend deliveries and reserve all legal remedies. Contact: {{ contact_person }} {{ contact_phone }}\n\n{{ company_name }}\nDemand no. {{ notice_number }}"),
        },
        Channel.SMS: {
            "zh-hans": ("", "【{{ company_name }}】{{ customer_name }}，您有 {{ total }} 元货款已逾期，请于 {{ final_payment_date }} 前付款，详见邮件 {{ notice_number }}。"),
            "en": ("", "{{ company_name }}: {{ customer_name }}, {{ total }} is overdue. Please pay by {{ final_payment_date }} (ref. {{ notice_number }})."),
        },
    },
    "final": {
        Channel.EMAIL: {
            "zh-hans": ("【最后通知】{{ customer_name }} 逾期应收款 {{ total }} 元",
                        "{{ customer_name }}：\n\n贵司以下款项经我司多次催告仍未支付，合计人民币 {{ total }} 元（{{ total_upper }}）：\n\n"
                        + _ZH_LIST + "\n\n{% if penalty_to_date %}截至今日逾期违约金 {{ penalty_to_date }} 元，合计 {{ total_with_penalty }} 元。\n{% endif %}"
                        "请务必于 {{ final_payment_date }} 前付清，汇入：{{ bank_name }}，户名 {{ bank_account_name }}，账号 {{ bank_account_number }}。\n"
                        "逾期仍未付款，我司将委托律师依法提起诉讼，由此产生的律师费、诉讼费等由贵司承担。\n联系人：{{ contact_person }} {{ contact_phone }}\n\n{{ company_name }}\n编号：{{ notice_number }}"),
            "en": ("Final notice: {{ total }} outstanding ({{ customer_name }})",
                   "Dear {{ customer_name }},\n\nDespite our reminders the following items remain unpaid, {{ total }} in total ({{ total_upper }}):\n\n"
                   + _ZH_LIST + "\n\n{% if penalty_to_date %}Penalty interest to date: {{ penalty_to_date }}; total {{ total_with_penalty }}.\n{% endif %}"
                   "Payment must reach {{ bank_name }}, account {{ bank_account_name }} {{ bank_account_number }} by {{ final_payment_date }}.\n"
                   "Otherwise we will instruct our lawyers to start proceedings at your cost.\nContact: {{ contact_person }} {{ contact_phone }}\n\n{{ company_name }}\nRef. {{ notice_number }}"),
        },
        Channel.SMS: {
            "zh-hans": ("", "【{{ company_name }}】最后通知：{{ customer_name }} 逾期 {{ total }} 元，请于 {{ final_payment_date }} 前付清，否则将依法追偿。"),
            "en": ("", "{{ company_name }} final notice: {{ customer_name }}, pay {{ total }} by {{ final_payment_date }} or we start legal action."),
        },
    },
}

_LETTER = {
    "reminder": ("付款提醒函", "Payment reminder"),
    "demand": ("催款函", "Demand for payment"),
    "final": ("最后催款通知函", "Final notice before legal action"),
}
for _key, (_zh, _en) in _LETTER.items():
    TEMPLATES[_key][Channel.LETTER] = {"zh-hans": (_zh, TEMPLATES[_key][Channel.EMAIL]["zh-hans"][1]),
                                       "en": (_en, TEMPLATES[_key][Channel.EMAIL]["en"][1])}
    TEMPLATES[_key][Channel.WECOM] = {
        "zh-hans": ("", "催款提醒（" + _zh + "）：{{ customer_name }}（{{ customer_code }}）{{ item_count }} 笔合计 {{ total }} 元，"
                        "逾期 {{ step_days }} 天，负责人 {{ owner_name }}，编号 {{ notice_number }}"),
        "en": ("", "Dunning (" + _en + "): {{ customer_name }} ({{ customer_code }}) {{ item_count }} item(s), {{ total }}, "
                   "{{ step_days }} days after due, owner {{ owner_name }}, ref. {{ notice_number }}"),
    }
