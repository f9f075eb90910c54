"""Strings Django renders in our screens whose simplified-Chinese translation Django does not ship.

Marking them here puts them into huikuan/locale (makemessages), and LOCALE_PATHS catalogs take
precedence over Django's own, so staff never see these in English.
"""

from django.utils.translation import gettext_noop

DJANGO_STRINGS_WITHOUT_ZH = (
    gettext_noop("- Select an option -"),  # django.db.models.fields.BLANK_CHOICE_LABEL (Django 6), every select with a blank choice
)
