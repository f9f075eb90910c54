# Finance practice in mainland China groups amounts by thousands with commas (1,234,567.89),
# not Django's default for zh-hans (no separator, groups of four). Dates stay ISO-like for clerks.
from django.conf.locale.zh_Hans.formats import *  # noqa: F401,F403

THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
SHORT_DATE_FORMAT = "Y-m-d"
