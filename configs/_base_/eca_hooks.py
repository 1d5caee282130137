# mmdet_eca's runtime with its hooks under their own name, for a detector
# config that has custom_hooks of its own (RTMDet's EMA and pipeline switch,
# YOLOX's mode switch): MMEngine refuses a key set by two bases, so such a
# config inherits this file and joins the lists itself,
#
#   _base_ = ['mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py',
#             '<path>/_base_/eca_hooks.py']
#   custom_hooks = _base_.custom_hooks + _base_.eca_hooks
#
# as a user config adding a hook of its own to eca_runtime.py's does.
custom_imports = dict(imports=['mmdet_eca'], allow_failed_imports=False)
# names the config entry or data file at fault when a build or a dataset
# fails; multi-process training on CPU
runner_type = 'SafeRunner'
eca_hooks = [
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
    # blocks with an ECA plugin after conv3 compute ECAResNet's fused tail
    # (same model and weights, less time and training memory)
    dict(type='FuseECAPluginsHook'),
]
