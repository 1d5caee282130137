# RTMDet-tiny with ECA in place of CSPNeXt's channel attention: MMDetection's
# own rtmdet_tiny_8xb32-300e_coco with only the backbone type changed. Each
# CSP layer's C x C attention (C^2 + C weights; 196,560 in all) becomes an ECA
# of k weights (16 in all). The backbone loads MMDetection's ImageNet CSPNeXt
# weights for everything but the attention.
_base_ = 'mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py'

# mmdet_eca's runtime (../_base_/eca_runtime.py) written out: RTMDet's own
# custom_hooks (EMA, the pipeline switch) and that file's would clash as two
# bases; this list keeps both.
custom_imports = dict(imports=['mmdet_eca'], allow_failed_imports=False)
runner_type = 'SafeRunner'
custom_hooks = _base_.custom_hooks + [
    dict(type='ClassCountHook', allow_extra_classes=False),
    dict(type='ScaleLRHook'),
    dict(type='RandomStateHook'),
    dict(type='CheckedLoadHook'),
]
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
# RTMDet's lr is written for 8 GPUs x 32 images; ScaleLRHook scales from it
auto_scale_lr = dict(enable=False, base_batch_size=256)

model = dict(backbone=dict(type='ECACSPNeXt'))
