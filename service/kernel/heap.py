"""A long-lived process's heap, once it has started: what start-up imported and built (tens of
thousands of objects: modules, classes, the OpenAPI document, compiled templates) lives as
long as the process, yet every full collection of Python's cyclic garbage collector walks it
again. On this project's runner that walk took 15-40 ms, a pause in the middle of whatever
edit or wake-up it fell on. Freezing the heap once start-up is done moves those objects out of
the collector's way (gc.freeze); what is allocated later is collected as before."""

import gc


def settle_heap() -> None:
    """Collect start-up's garbage, then freeze what is left. Call once, when the process is
    ready to serve. (gc.get_freeze_count() says how many objects are frozen; it walks them.)"""
    gc.collect()
    gc.freeze()
