"""Video editing with PyAV: the operations and the pipeline that runs them."""
