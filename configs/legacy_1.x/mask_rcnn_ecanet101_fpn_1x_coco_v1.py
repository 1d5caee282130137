# Mask R-CNN ECA-ResNet-101 as released (mask_rcnn_ecanet101_k3357_bs8_lr0.01,
# github.com/BangguWu/ECANet: 41.3 box AP, 37.4 mask AP on COCO val2017),
# with MMDetection 1.x's inference settings: the ECA-ResNet-50 config with
# the depth and kernel sizes of the released ECA-ResNet-101.
_base_ = './mask_rcnn_ecanet50_fpn_1x_coco_v1.py'

model = dict(backbone=dict(depth=101, eca_kernel_sizes='3357'))
