# ECA-MobileNetV2 on ImageNet: mmpretrain's own mobilenet-v2_8xb32_in1k with
# only the backbone changed, to mmdet_eca's ECAMobileNetV2 (the released k13:
# k = 1 below 96 output channels, else 3). Its weights load into
# configs/retinanet_ecamobilenetv2_fpn_1x_coco.py.
_base_ = 'mmpretrain::mobilenet_v2/mobilenet-v2_8xb32_in1k.py'
custom_imports = dict(imports=['mmdet_eca'], allow_failed_imports=False)

# out_indices (7, ): the 1280-channel last conv, mmpretrain's head input
model = dict(backbone=dict(type='mmdet.ECAMobileNetV2', out_indices=(7, )))
