# The embedded demo: the shipped ECA Mask R-CNN config, trained from scratch
# on the generated shapes dataset (tools/demo.py writes it) in minutes on a
# CPU. Only what a small dataset of 128x128 images and no pretrained
# weights require differs from the parent config.
_base_ = '../mask_rcnn_ecanet50_fpn_1x_coco.py'

data_root = 'data/demo_shapes/'
classes = ('circle', 'rectangle', 'triangle')
image_size = (128, 128)
# tools/demo.py generates 2800 training images: 4 epochs are 1400
# iterations. Fresh images beat repeated ones (a model trained on 1000
# images for 11 epochs scored 0.04 AP higher on its training images than on
# val images it had not seen).
max_epochs = 4
train_batch_size = 8
# from scratch at 8 images per step: GroupNorm's statistics do not depend
# on the batch (Wu and He, ECCV 2018, https://arxiv.org/abs/1803.08494)
norm_cfg = dict(type='GN', num_groups=8, requires_grad=True)

model = dict(
    backbone=dict(
        depth=18,
        base_channels=32,
        eca_kernel_sizes='adaptive',
        # trained from scratch: nothing frozen, norms train
        frozen_stages=-1,
        norm_cfg=norm_cfg,
        norm_eval=False,
        init_cfg=None),
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=64,
              norm_cfg=norm_cfg),
    rpn_head=dict(
        in_channels=64,
        feat_channels=64,
        # objects are 16-56 px: anchors of 16-256 px over the FPN levels
        anchor_generator=dict(scales=[4])),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64),
        bbox_head=dict(
            in_channels=64,
            fc_out_channels=256,
            num_classes=len(classes),
            # one box regressor for all classes: every positive RoI trains it
            reg_class_agnostic=True),
        mask_roi_extractor=dict(out_channels=64),
        mask_head=dict(
            num_convs=2,
            in_channels=64,
            conv_out_channels=64,
            norm_cfg=norm_cfg,
            num_classes=len(classes))),
    train_cfg=dict(
        # a few objects per image need far fewer proposals than COCO
        rpn_proposal=dict(nms_pre=500, max_per_img=200),
        rcnn=dict(
            # RoIs of IoU >= 0.6 train the box and mask heads: regression
            # from closer proposals is what AP at IoU 0.75-0.95 rewards
            # (Cai and Vasconcelos, Cascade R-CNN, CVPR 2018)
            assigner=dict(pos_iou_thr=0.6, neg_iou_thr=0.6, min_pos_iou=0.6),
            # mmcv's CPU RoIAlign runs on one thread, and its backward and
            # the mask head cost in proportion to the sampled RoIs: 32 per
            # image (8 positive) leave time for more training images
            sampler=dict(num=32))),
    test_cfg=dict(
        rpn=dict(nms_pre=300, max_per_img=100),
        rcnn=dict(max_per_img=20)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5, direction=['horizontal', 'vertical']),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor')),
]
# Data in the training process: a loader worker would compete with the two
# compute threads for two cores, and the pipeline is ~1% of a step.
train_dataloader = dict(
    batch_size=train_batch_size,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        metainfo=dict(classes=classes),
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        metainfo=dict(classes=classes),
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator

train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
# AdamW converges much faster than SGD from scratch in a short schedule.
# lr 1e-3 is this recipe's for one process of 8 images; the hook scales it
# when the batch or the number of processes changes.
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=1e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=10, norm_type=2))
# ScaleLRHook (configs/_base_/eca_runtime.py) scales from this batch. Do
# not set custom_hooks here: that would replace the inherited list and drop
# the runtime's RandomStateHook and CheckedLoadHook.
auto_scale_lr = dict(enable=False, base_batch_size=train_batch_size)
# a linear warm-up, then a cosine decay to 1% over the rest of the run:
# the run spends its last iterations at low lr, where boxes and masks
# sharpen
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=100),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min_ratio=0.01,
        begin=0,
        end=max_epochs,
        by_epoch=True,
        convert_to_iter_based=True),
]
# MMEngine's JSON logs (tools/demo.py reads them) and TensorBoard event files
# (`tensorboard --logdir work_dirs/demo`); for Weights & Biases instead, add
# --cfg-options visualizer.vis_backends.1.type=WandbVisBackend
visualizer = dict(vis_backends=[
    dict(type='LocalVisBackend'),
    dict(type='TensorboardVisBackend')
])
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
randomness = dict(seed=0)
