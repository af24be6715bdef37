"""Imported by worker subprocesses (``--import tests.stall_format``): registers the export
format that stalls on demand, so a test can kill a worker in the middle of an export."""

import docledger
from tests.queue_tasks import StallingFormat

docledger.formats.register(StallingFormat())
