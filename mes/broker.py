"""The embedded default's message broker: kombu's file-system transport, with each message
file written whole before it appears in the queue folder.

kombu's own transport creates the message file under its final name and then writes into it.
A worker listing the folder at that moment takes the file, finds it empty, and stops with an
unrecoverable JSONDecodeError ("Expecting value: line 1 column 1"), which took the whole
embedded system down (`manage.py serve` stops when its worker exits). Here the message is
written to a hidden file in the same folder (a name the worker never takes) and renamed to its
final name, which is atomic: a worker sees the message whole or not at all.
"""

import contextlib
import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        """Put `payload` onto `queue`: written under a hidden name, then renamed."""
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = os.path.join(self.data_folder_out, f".{name}.part")
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(partial)
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
