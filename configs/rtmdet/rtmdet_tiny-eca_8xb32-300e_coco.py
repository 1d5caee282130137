# RTMDet-tiny with ECA in place of CSPNeXt's channel attention: MMDetection's
# own rtmdet_tiny_8xb32-300e_coco with only the backbone type changed. Each
# CSP layer's C x C attention (C^2 + C weights; 196,560 in all) becomes an ECA
# of k weights (16 in all). The backbone loads MMDetection's ImageNet CSPNeXt
# weights for everything but the attention.
_base_ = [
    'mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py',
    '../_base_/eca_hooks.py'
]

# RTMDet's own custom_hooks (EMA, the pipeline switch) and mmdet_eca's
custom_hooks = _base_.custom_hooks + _base_.eca_hooks
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
# RTMDet's lr is written for 8 GPUs x 32 images; ScaleLRHook scales from it
auto_scale_lr = dict(enable=False, base_batch_size=256)

model = dict(backbone=dict(type='ECACSPNeXt'))
