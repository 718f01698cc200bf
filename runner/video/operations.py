"""Every video operation, in the order they are documented."""

from runner.ops.base import Operation

VIDEO_OPERATIONS: tuple[type[Operation], ...] = ()
