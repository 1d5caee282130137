# What mmdet_eca adds to a detector config, whichever tool runs it
# (MMDetection's tools/train.py and tools/test.py, mim, this project's
# tools, or RUNNERS.build(cfg) in a notebook). Inherit it beside the
# MMDetection config, and select the crash-safe checkpoint hook, which
# MMDetection's default_runtime also names (so it cannot be set here):
#
#   _base_ = ['mmdet::<detector config>.py', '<path>/_base_/eca_runtime.py']
#   default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
custom_imports = dict(imports=['mmdet_eca'], allow_failed_imports=False)
# names the config entry or data file at fault when a build or a dataset
# fails; multi-process training on CPU
runner_type = 'SafeRunner'
custom_hooks = [
    # every head's num_classes must be the dataset's class count; with
    # allow_extra_classes=True heads may have more (custom_hooks.0 in
    # --cfg-options)
    dict(type='ClassCountHook', allow_extra_classes=False),
    # scale the lr, written for auto_scale_lr.base_batch_size images (8 GPUs
    # x 2 in MMDetection's schedules), to the real batch
    dict(type='ScaleLRHook'),
    # checkpoints carry the random states; a resume continues bit for bit
    dict(type='RandomStateHook'),
    # testing and resuming refuse a checkpoint that does not fit exactly
    dict(type='CheckedLoadHook'),
]
