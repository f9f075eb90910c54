"""Codes of the texts the imports app stores, and how its audit events read (``ImportsConfig.ready``)."""

from django.utils.translation import gettext_lazy as _

from huikuan.common import audit

audit.register_verb_labels({
    "imports.job.committed": _("Import committed"),
})
