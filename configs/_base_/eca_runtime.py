# What mmdet_eca adds to a detector config, whichever tool runs it
# (MMDetection's tools/train.py and tools/test.py, mim, this project's
# tools, or RUNNERS.build(cfg) in a notebook). Inherit it beside the
# MMDetection config, and select the crash-safe checkpoint hook, which
# MMDetection's default_runtime also names (so it cannot be set here):
#
#   _base_ = ['mmdet::<detector config>.py', '<path>/_base_/eca_runtime.py']
#   default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
#
# A config with hooks of its own joins the lists:
#   custom_hooks = [dict(type='MyHook')] + _base_.eca_hooks
# (custom_imports, the runner and the hooks: ./eca_hooks.py)
_base_ = './eca_hooks.py'
custom_hooks = _base_.eca_hooks
