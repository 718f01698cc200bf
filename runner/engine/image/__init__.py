"""Image editing with Pillow: the operations and the pipeline that runs them."""
