# ECA-ResNet-50 on ImageNet: mmpretrain's own resnet50_8xb32_in1k (100 epochs,
# SGD lr 0.1 for 8 GPUs x 32 images, steps at 30/60/90: the ECA paper's setting
# too) with only the backbone changed, to mmdet_eca's ECAResNet with the
# released kernel sizes 3557. Its backbone weights load into
# configs/*_ecanet50_fpn_1x_coco.py (docs/pretraining.md).
_base_ = 'mmpretrain::resnet/resnet50_8xb32_in1k.py'
custom_imports = dict(imports=['mmdet_eca'], allow_failed_imports=False)

# depth, num_stages, out_indices (3, ) and style are mmpretrain's and mean
# the same to MMDetection's ResNet
model = dict(backbone=dict(type='mmdet.ECAResNet', eca_kernel_sizes='3557'))
