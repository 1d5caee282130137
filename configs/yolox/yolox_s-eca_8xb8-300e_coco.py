# YOLOX-s with ECA in every CSP layer of its CSPDarknet, where RTMDet's
# CSPNeXt has its channel attention (on the concatenated paths, before the
# final 1x1 conv): MMDetection's own yolox_s_8xb8-300e_coco with only the
# backbone type changed; the four ECAs add 18 weights.
_base_ = [
    'mmdet::yolox/yolox_s_8xb8-300e_coco.py',
    '../_base_/eca_hooks.py'
]

# YOLOX's own custom_hooks (mode switch, norm sync, EMA) and mmdet_eca's
custom_hooks = _base_.custom_hooks + _base_.eca_hooks
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
# YOLOX's lr is written for 8 GPUs x 8 images; ScaleLRHook scales from it
auto_scale_lr = dict(enable=False, base_batch_size=64)

model = dict(backbone=dict(type='ECACSPDarknet'))
