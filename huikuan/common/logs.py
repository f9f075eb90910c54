"""Logging filters used by ``LOGGING`` in the settings."""

import logging


class ForbiddenOnOneLine(logging.Filter):
    """A refused request (403) is an expected event, not a fault: Django logs it with the
    ``PermissionDenied`` traceback attached; keep the one line (method, path, status) and drop the traceback,
    so a log reader sees real errors."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403 and record.exc_info:
            record.exc_info = None
            record.exc_text = None
        return True
