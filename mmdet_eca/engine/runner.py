"""An MMEngine Runner that names the config entry or data file at fault."""
from typing import Optional, Union

from mmengine.registry import RUNNERS
from mmengine.runner import Runner
from torch.utils.data import DataLoader

from ..errors import DataError
from .checks import (annotation_problem, check_test_files, check_train_files,
                     evaluator_problem)
from .coco_capture import (checking_coco_files, emptied_problem,
                           report_dropped)
from .dist import setup_cpu_distributed
from .explain import explained
from .image_check import check_images


@RUNNERS.register_module()
class SafeRunner(Runner):
    """MMEngine's ``Runner`` with bad input explained before it fails deep
    inside a build or a data loader worker.

    * **explained config errors**: a component that fails to build raises
      a :class:`~mmdet_eca.errors.ConfigError` naming its config entry
      (:mod:`.explain`);
    * **checked data**: missing annotation files, image folders and
      pretrained weights are named before anything is built; an annotation
      file that fails to load is named (:class:`~mmdet_eca.errors.DataError`),
      so are an empty image list, repeated image ids and annotations that
      would train on garbage or be lost (:mod:`.annotation_problems`), what
      MMDetection leaves out of a training file is logged as counts
      (:mod:`.coco_capture`), and the images a built dataset lists are
      checked, all before the first iteration;
    * **multi-process training on CPU**: with ``launcher='pytorch'`` and
      no CUDA, the process group is set up with gloo (:mod:`.dist`).

    What concerns checkpoints (crash-safe saving, random states, checked
    loading) lives in hooks, so that a plain ``Runner.from_cfg`` has it
    too. Configs select this runner with ``runner_type = 'SafeRunner'``;
    MMDetection's ``tools/train.py`` and ``tools/test.py`` (and so
    ``mim train``/``mim test``) then build it through ``RUNNERS``.
    """

    @classmethod
    def from_cfg(cls, cfg) -> 'SafeRunner':
        setup_cpu_distributed(cfg, cfg.get('launcher', 'none'))
        with explained(cfg):
            return super().from_cfg(cfg)

    def train(self):
        check_train_files(self.cfg)
        with explained(self.cfg):
            return super().train()

    def val(self) -> dict:
        with explained(self.cfg):
            return super().val()

    def test(self) -> dict:
        check_test_files(self.cfg)
        with explained(self.cfg):
            return super().test()

    @staticmethod
    def build_dataloader(dataloader: Union[DataLoader, dict],
                         seed: Optional[int] = None,
                         diff_rank_seed: bool = False) -> DataLoader:
        if not isinstance(dataloader, dict):
            return Runner.build_dataloader(dataloader, seed, diff_rank_seed)
        try:
            with checking_coco_files() as summaries:
                loader = Runner.build_dataloader(dataloader, seed,
                                                 diff_rank_seed)
        except DataError:
            raise  # already names the file
        except Exception as err:  # noqa: B902  re-raised, maybe re-worded
            problem = annotation_problem(dataloader, '') or emptied_problem(
                summaries, err)
            if problem is None:
                raise
            raise DataError(problem) from err
        report_dropped(loader.dataset, summaries)
        check_images(loader.dataset)
        return loader

    def build_evaluator(self, evaluator):
        try:
            return super().build_evaluator(evaluator)
        except Exception as err:  # noqa: B902  re-raised, maybe re-worded
            evaluators = evaluator if isinstance(evaluator, list) else [
                evaluator
            ]
            for one in evaluators:
                problem = isinstance(one, dict) and evaluator_problem(
                    one, '')
                if problem:
                    raise DataError(problem) from err
            raise
