# EfficientNet-B0 with ECA in place of every SE, on ImageNet: mmpretrain's own
# efficientnet-b0_8xb32_in1k with only the backbone changed, to mmdet_eca's
# ECAEfficientNet (adaptive k of each block's expanded channels). Its weights
# load into configs/retinanet_ecaeffb3_fpn_8xb4-crop896-1x_coco.py with
# arch='b0' (and that arch's neck widths).
_base_ = 'mmpretrain::efficientnet/efficientnet-b0_8xb32_in1k.py'
custom_imports = dict(imports=['mmdet_eca'], allow_failed_imports=False)

# out_indices (6, ): MMDetection builds the 1280-channel last conv, the head's
# input, only when asked for it
model = dict(
    backbone=dict(type='mmdet.ECAEfficientNet', arch='b0', out_indices=(6, )))
