# ECA-ResNet-101 on ImageNet: mmpretrain's own resnet101_8xb32_in1k with only
# the backbone changed, to mmdet_eca's ECAResNet with the released kernel
# sizes 3357. Its backbone weights load into
# configs/*_ecanet101_fpn_1x_coco.py.
_base_ = 'mmpretrain::resnet/resnet101_8xb32_in1k.py'
custom_imports = dict(imports=['mmdet_eca'], allow_failed_imports=False)

model = dict(backbone=dict(type='mmdet.ECAResNet', eca_kernel_sizes='3357'))
