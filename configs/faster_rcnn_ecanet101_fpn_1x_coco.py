# Faster R-CNN with an ECA-ResNet-101 backbone: the ECA-ResNet-50 config with
# the depth, kernel sizes and checkpoint of the released ECA-ResNet-101.
_base_ = './faster_rcnn_ecanet50_fpn_1x_coco.py'

model = dict(
    backbone=dict(
        depth=101,
        eca_kernel_sizes='3357',  # eca_resnet101_k3357
        init_cfg=dict(checkpoint='checkpoints/eca_resnet101_k3357_mmdet.pth')))
