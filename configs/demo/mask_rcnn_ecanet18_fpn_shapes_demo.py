# The embedded demo: the shipped ECA Mask R-CNN config, trained from scratch
# on the generated shapes dataset (tools/demo.py writes it) in minutes on a
# CPU. Only what a small dataset of 128x128 images and no pretrained
# weights require differs from the parent config.
_base_ = '../mask_rcnn_ecanet50_fpn_1x_coco.py'

data_root = 'data/demo_shapes/'
classes = ('circle', 'rectangle', 'triangle')
image_size = (128, 128)
max_epochs = 16
train_batch_size = 8

model = dict(
    backbone=dict(
        depth=18,
        base_channels=32,
        eca_kernel_sizes='adaptive',
        # trained from scratch: BN learns its statistics, nothing frozen
        frozen_stages=-1,
        norm_eval=False,
        init_cfg=None),
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=64),
    rpn_head=dict(
        in_channels=64,
        feat_channels=64,
        # objects are 16-56 px: anchors of 16-256 px over the FPN levels
        anchor_generator=dict(scales=[4])),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64),
        bbox_head=dict(
            in_channels=64, fc_out_channels=256, num_classes=len(classes)),
        mask_roi_extractor=dict(out_channels=64),
        mask_head=dict(
            num_convs=2,
            in_channels=64,
            conv_out_channels=64,
            num_classes=len(classes))),
    # a few objects per image need far fewer proposals and sampled RoIs than
    # COCO, and the RoI heads dominate the step time on a CPU
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=500, max_per_img=200),
        rcnn=dict(sampler=dict(num=64))),
    test_cfg=dict(
        rpn=dict(nms_pre=300, max_per_img=100),
        rcnn=dict(max_per_img=20)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
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
train_dataloader = dict(
    batch_size=train_batch_size,
    num_workers=1,
    dataset=dict(
        data_root=data_root,
        metainfo=dict(classes=classes),
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=1,
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
# lr 0.02 is this recipe's for one process of 8 images; the hook scales it
# when the batch or the number of processes changes
optim_wrapper = dict(optimizer=dict(lr=0.02))
custom_hooks = [dict(type='ScaleLRHook', base_batch_size=train_batch_size)]
# kept equal to the hook's so the two settings do not disagree (disabled)
auto_scale_lr = dict(enable=False, base_batch_size=train_batch_size)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=100),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[12, 15],
        gamma=0.1),
]
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
randomness = dict(seed=0)
