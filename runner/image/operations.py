"""Every image operation, in the order they are documented."""

from runner.ops.base import Operation

IMAGE_OPERATIONS: tuple[type[Operation], ...] = ()
