"""Compiled validator of schemas/inference.schema.json, written by `tao-skill schemas generate`: do not edit.

fastjsonschema's code for a draft-07 copy of the schema (tao_skill.schemagen.compiled); the runner imports it to accept a
valid spec without jsonschema. The stamp says what it was compiled from.
"""
# ruff: noqa
STAMP = {'body_sha256': '9b3d1c2a1043458efe63adc37ca870874a783b01eb646bbea7d8af06a382e2fb', 'fastjsonschema': '2.22.3', 'generator': 'compiled-validator-1', 'rules_entry': 'nvpanoptix3d.config.rules:check_spec', 'schema_sha256': '5b3432fa4995615cb6c48b9088aeb22c172669a0297e78576752b856ee74e713'}
SCHEMA_SHA256 = '5b3432fa4995615cb6c48b9088aeb22c172669a0297e78576752b856ee74e713'
RULES_ENTRY = 'nvpanoptix3d.config.rules:check_spec'
VERSION = "2.22.3"
from decimal import Decimal
class JsonSchemaValueException(ValueError):
    """A value the schema refuses (the fast path only needs to know that it did)."""

    def __init__(self, message, value=None, name=None, definition=None, rule=None):
        super().__init__(message)
        self.message, self.value, self.name, self.definition, self.rule = message, value, name, definition, rule


class JsonSchemaValuesException(ValueError):
    """Several refused values (unused with fast_fail)."""


NoneType = type(None)

def validate_https___tao_skill_bank_invalid_nvpanoptix3d_inference_schema_json(data, custom_formats={}, name_prefix=None):
    if not isinstance(data, (dict)):
        raise JsonSchemaValueException("" + (name_prefix or "data") + " must be object")
    data_is_dict = isinstance(data, dict)
    if data_is_dict:
        data_keys = set(data.keys())
        if "model_name" in data_keys:
            data_keys.remove("model_name")
            data__modelname = data["model_name"]
            if not isinstance(data__modelname, (str, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model_name must be string or null")
        if "encryption_key" in data_keys:
            data_keys.remove("encryption_key")
            data__encryptionkey = data["encryption_key"]
            if not isinstance(data__encryptionkey, (str, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".encryption_key must be string or null")
        if "results_dir" in data_keys:
            data_keys.remove("results_dir")
            data__resultsdir = data["results_dir"]
            if not isinstance(data__resultsdir, (str, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".results_dir must be string or null")
        if "wandb" in data_keys:
            data_keys.remove("wandb")
            data__wandb = data["wandb"]
            if not isinstance(data__wandb, (dict)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".wandb must be object")
            data__wandb_is_dict = isinstance(data__wandb, dict)
            if data__wandb_is_dict:
                data__wandb_keys = set(data__wandb.keys())
                if "enable" in data__wandb_keys:
                    data__wandb_keys.remove("enable")
                    data__wandb__enable = data__wandb["enable"]
                    if not isinstance(data__wandb__enable, (bool)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".wandb.enable must be boolean")
                if "project" in data__wandb_keys:
                    data__wandb_keys.remove("project")
                    data__wandb__project = data__wandb["project"]
                    if not isinstance(data__wandb__project, (str)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".wandb.project must be string")
                if "entity" in data__wandb_keys:
                    data__wandb_keys.remove("entity")
                    data__wandb__entity = data__wandb["entity"]
                    if not isinstance(data__wandb__entity, (str, NoneType)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".wandb.entity must be string or null")
                if "group" in data__wandb_keys:
                    data__wandb_keys.remove("group")
                    data__wandb__group = data__wandb["group"]
                    if not isinstance(data__wandb__group, (str, NoneType)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".wandb.group must be string or null")
                if "name" in data__wandb_keys:
                    data__wandb_keys.remove("name")
                    data__wandb__name = data__wandb["name"]
                    if not isinstance(data__wandb__name, (str)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".wandb.name must be string")
                if "tags" in data__wandb_keys:
                    data__wandb_keys.remove("tags")
                    data__wandb__tags = data__wandb["tags"]
                    if not isinstance(data__wandb__tags, (list, tuple)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".wandb.tags must be array")
                    data__wandb__tags_is_list = isinstance(data__wandb__tags, (list, tuple))
                    if data__wandb__tags_is_list:
                        data__wandb__tags_len = len(data__wandb__tags)
                        for data__wandb__tags_x, data__wandb__tags_item in enumerate(data__wandb__tags):
                            if not isinstance(data__wandb__tags_item, (str)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".wandb.tags[{data__wandb__tags_x}]".format(**locals()) + " must be string")
                if "reinit" in data__wandb_keys:
                    data__wandb_keys.remove("reinit")
                    data__wandb__reinit = data__wandb["reinit"]
                    if not isinstance(data__wandb__reinit, (bool)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".wandb.reinit must be boolean")
                if "sync_tensorboard" in data__wandb_keys:
                    data__wandb_keys.remove("sync_tensorboard")
                    data__wandb__synctensorboard = data__wandb["sync_tensorboard"]
                    if not isinstance(data__wandb__synctensorboard, (bool)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".wandb.sync_tensorboard must be boolean")
                if "save_code" in data__wandb_keys:
                    data__wandb_keys.remove("save_code")
                    data__wandb__savecode = data__wandb["save_code"]
                    if not isinstance(data__wandb__savecode, (bool)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".wandb.save_code must be boolean")
                if "run_id" in data__wandb_keys:
                    data__wandb_keys.remove("run_id")
                    data__wandb__runid = data__wandb["run_id"]
                    if not isinstance(data__wandb__runid, (str)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".wandb.run_id must be string")
                if data__wandb_keys:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".wandb must not contain "+str(data__wandb_keys)+" properties")
        if "model" in data_keys:
            data_keys.remove("model")
            data__model = data["model"]
            if not isinstance(data__model, (dict)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model must be object")
            data__model_is_dict = isinstance(data__model, dict)
            if data__model_is_dict:
                data__model_keys = set(data__model.keys())
                if "mode" in data__model_keys:
                    data__model_keys.remove("mode")
                    data__model__mode = data__model["mode"]
                    if not isinstance(data__model__mode, (str)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mode must be string")
                    if not (isinstance(data__model__mode, str) and data__model__mode == 'panoptic' or isinstance(data__model__mode, str) and data__model__mode == 'instance' or isinstance(data__model__mode, str) and data__model__mode == 'semantic'):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mode must be one of ['panoptic', 'instance', 'semantic']")
                if "object_mask_threshold" in data__model_keys:
                    data__model_keys.remove("object_mask_threshold")
                    data__model__objectmaskthreshold = data__model["object_mask_threshold"]
                    if not isinstance(data__model__objectmaskthreshold, (int, float, Decimal)) or isinstance(data__model__objectmaskthreshold, bool):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.object_mask_threshold must be number")
                    if isinstance(data__model__objectmaskthreshold, (int, float, Decimal)) and not isinstance(data__model__objectmaskthreshold, bool):
                        if data__model__objectmaskthreshold < 0.0:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.object_mask_threshold must be bigger than or equal to 0.0")
                        if data__model__objectmaskthreshold > 1.0:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.object_mask_threshold must be smaller than or equal to 1.0")
                if "overlap_threshold" in data__model_keys:
                    data__model_keys.remove("overlap_threshold")
                    data__model__overlapthreshold = data__model["overlap_threshold"]
                    if not isinstance(data__model__overlapthreshold, (int, float, Decimal)) or isinstance(data__model__overlapthreshold, bool):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.overlap_threshold must be number")
                    if isinstance(data__model__overlapthreshold, (int, float, Decimal)) and not isinstance(data__model__overlapthreshold, bool):
                        if data__model__overlapthreshold < 0.0:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.overlap_threshold must be bigger than or equal to 0.0")
                        if data__model__overlapthreshold > 1.0:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.overlap_threshold must be smaller than or equal to 1.0")
                if "test_topk_per_image" in data__model_keys:
                    data__model_keys.remove("test_topk_per_image")
                    data__model__testtopkperimage = data__model["test_topk_per_image"]
                    if not isinstance(data__model__testtopkperimage, (int)) and not (isinstance(data__model__testtopkperimage, float) and data__model__testtopkperimage.is_integer()) or isinstance(data__model__testtopkperimage, bool):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.test_topk_per_image must be integer")
                    if isinstance(data__model__testtopkperimage, (int, float, Decimal)) and not isinstance(data__model__testtopkperimage, bool):
                        if data__model__testtopkperimage < 1:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.test_topk_per_image must be bigger than or equal to 1")
                if "backbone" in data__model_keys:
                    data__model_keys.remove("backbone")
                    data__model__backbone = data__model["backbone"]
                    if not isinstance(data__model__backbone, (dict)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.backbone must be object")
                    data__model__backbone_is_dict = isinstance(data__model__backbone, dict)
                    if data__model__backbone_is_dict:
                        data__model__backbone_keys = set(data__model__backbone.keys())
                        if "backbone_type" in data__model__backbone_keys:
                            data__model__backbone_keys.remove("backbone_type")
                            data__model__backbone__backbonetype = data__model__backbone["backbone_type"]
                            if not isinstance(data__model__backbone__backbonetype, (str)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.backbone.backbone_type must be string")
                            if not (isinstance(data__model__backbone__backbonetype, str) and data__model__backbone__backbonetype == 'vggt'):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.backbone.backbone_type must be one of ['vggt']")
                        if "pretrained_model_path" in data__model__backbone_keys:
                            data__model__backbone_keys.remove("pretrained_model_path")
                            data__model__backbone__pretrainedmodelpath = data__model__backbone["pretrained_model_path"]
                            if not isinstance(data__model__backbone__pretrainedmodelpath, (str, NoneType)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.backbone.pretrained_model_path must be string or null")
                        if "preset" in data__model__backbone_keys:
                            data__model__backbone_keys.remove("preset")
                            data__model__backbone__preset = data__model__backbone["preset"]
                            if not isinstance(data__model__backbone__preset, (str)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.backbone.preset must be string")
                            if not (isinstance(data__model__backbone__preset, str) and data__model__backbone__preset == 'full' or isinstance(data__model__backbone__preset, str) and data__model__backbone__preset == 'tiny'):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.backbone.preset must be one of ['full', 'tiny']")
                        if data__model__backbone_keys:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.backbone must not contain "+str(data__model__backbone_keys)+" properties")
                if "sem_seg_head" in data__model_keys:
                    data__model_keys.remove("sem_seg_head")
                    data__model__semseghead = data__model["sem_seg_head"]
                    if not isinstance(data__model__semseghead, (dict)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.sem_seg_head must be object")
                    data__model__semseghead_is_dict = isinstance(data__model__semseghead, dict)
                    if data__model__semseghead_is_dict:
                        data__model__semseghead_keys = set(data__model__semseghead.keys())
                        if "common_stride" in data__model__semseghead_keys:
                            data__model__semseghead_keys.remove("common_stride")
                            data__model__semseghead__commonstride = data__model__semseghead["common_stride"]
                            if not isinstance(data__model__semseghead__commonstride, (int)) and not (isinstance(data__model__semseghead__commonstride, float) and data__model__semseghead__commonstride.is_integer()) or isinstance(data__model__semseghead__commonstride, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.sem_seg_head.common_stride must be integer")
                            if isinstance(data__model__semseghead__commonstride, (int, float, Decimal)) and not isinstance(data__model__semseghead__commonstride, bool):
                                if data__model__semseghead__commonstride < 2:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.sem_seg_head.common_stride must be bigger than or equal to 2")
                        if "transformer_enc_layers" in data__model__semseghead_keys:
                            data__model__semseghead_keys.remove("transformer_enc_layers")
                            data__model__semseghead__transformerenclayers = data__model__semseghead["transformer_enc_layers"]
                            if not isinstance(data__model__semseghead__transformerenclayers, (int)) and not (isinstance(data__model__semseghead__transformerenclayers, float) and data__model__semseghead__transformerenclayers.is_integer()) or isinstance(data__model__semseghead__transformerenclayers, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.sem_seg_head.transformer_enc_layers must be integer")
                            if isinstance(data__model__semseghead__transformerenclayers, (int, float, Decimal)) and not isinstance(data__model__semseghead__transformerenclayers, bool):
                                if data__model__semseghead__transformerenclayers < 1:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.sem_seg_head.transformer_enc_layers must be bigger than or equal to 1")
                        if "convs_dim" in data__model__semseghead_keys:
                            data__model__semseghead_keys.remove("convs_dim")
                            data__model__semseghead__convsdim = data__model__semseghead["convs_dim"]
                            if not isinstance(data__model__semseghead__convsdim, (int)) and not (isinstance(data__model__semseghead__convsdim, float) and data__model__semseghead__convsdim.is_integer()) or isinstance(data__model__semseghead__convsdim, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.sem_seg_head.convs_dim must be integer")
                            if isinstance(data__model__semseghead__convsdim, (int, float, Decimal)) and not isinstance(data__model__semseghead__convsdim, bool):
                                if data__model__semseghead__convsdim < 1:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.sem_seg_head.convs_dim must be bigger than or equal to 1")
                        if "mask_dim" in data__model__semseghead_keys:
                            data__model__semseghead_keys.remove("mask_dim")
                            data__model__semseghead__maskdim = data__model__semseghead["mask_dim"]
                            if not isinstance(data__model__semseghead__maskdim, (int)) and not (isinstance(data__model__semseghead__maskdim, float) and data__model__semseghead__maskdim.is_integer()) or isinstance(data__model__semseghead__maskdim, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.sem_seg_head.mask_dim must be integer")
                            if isinstance(data__model__semseghead__maskdim, (int, float, Decimal)) and not isinstance(data__model__semseghead__maskdim, bool):
                                if data__model__semseghead__maskdim < 1:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.sem_seg_head.mask_dim must be bigger than or equal to 1")
                        if "depth_dim" in data__model__semseghead_keys:
                            data__model__semseghead_keys.remove("depth_dim")
                            data__model__semseghead__depthdim = data__model__semseghead["depth_dim"]
                            if not isinstance(data__model__semseghead__depthdim, (int)) and not (isinstance(data__model__semseghead__depthdim, float) and data__model__semseghead__depthdim.is_integer()) or isinstance(data__model__semseghead__depthdim, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.sem_seg_head.depth_dim must be integer")
                            if isinstance(data__model__semseghead__depthdim, (int, float, Decimal)) and not isinstance(data__model__semseghead__depthdim, bool):
                                if data__model__semseghead__depthdim < 1:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.sem_seg_head.depth_dim must be bigger than or equal to 1")
                        if "ignore_value" in data__model__semseghead_keys:
                            data__model__semseghead_keys.remove("ignore_value")
                            data__model__semseghead__ignorevalue = data__model__semseghead["ignore_value"]
                            if not isinstance(data__model__semseghead__ignorevalue, (int)) and not (isinstance(data__model__semseghead__ignorevalue, float) and data__model__semseghead__ignorevalue.is_integer()) or isinstance(data__model__semseghead__ignorevalue, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.sem_seg_head.ignore_value must be integer")
                            if isinstance(data__model__semseghead__ignorevalue, (int, float, Decimal)) and not isinstance(data__model__semseghead__ignorevalue, bool):
                                if data__model__semseghead__ignorevalue < 0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.sem_seg_head.ignore_value must be bigger than or equal to 0")
                                if data__model__semseghead__ignorevalue > 255:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.sem_seg_head.ignore_value must be smaller than or equal to 255")
                        if "deformable_transformer_encoder_in_features" in data__model__semseghead_keys:
                            data__model__semseghead_keys.remove("deformable_transformer_encoder_in_features")
                            data__model__semseghead__deformabletransformerencoderinfeatures = data__model__semseghead["deformable_transformer_encoder_in_features"]
                            if not isinstance(data__model__semseghead__deformabletransformerencoderinfeatures, (list, tuple)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.sem_seg_head.deformable_transformer_encoder_in_features must be array")
                            data__model__semseghead__deformabletransformerencoderinfeatures_is_list = isinstance(data__model__semseghead__deformabletransformerencoderinfeatures, (list, tuple))
                            if data__model__semseghead__deformabletransformerencoderinfeatures_is_list:
                                data__model__semseghead__deformabletransformerencoderinfeatures_len = len(data__model__semseghead__deformabletransformerencoderinfeatures)
                                if data__model__semseghead__deformabletransformerencoderinfeatures_len < 1:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.sem_seg_head.deformable_transformer_encoder_in_features must contain at least 1 items")
                                for data__model__semseghead__deformabletransformerencoderinfeatures_x, data__model__semseghead__deformabletransformerencoderinfeatures_item in enumerate(data__model__semseghead__deformabletransformerencoderinfeatures):
                                    if not isinstance(data__model__semseghead__deformabletransformerencoderinfeatures_item, (str)):
                                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.sem_seg_head.deformable_transformer_encoder_in_features[{data__model__semseghead__deformabletransformerencoderinfeatures_x}]".format(**locals()) + " must be string")
                                    if not (isinstance(data__model__semseghead__deformabletransformerencoderinfeatures_item, str) and data__model__semseghead__deformabletransformerencoderinfeatures_item == 'res2' or isinstance(data__model__semseghead__deformabletransformerencoderinfeatures_item, str) and data__model__semseghead__deformabletransformerencoderinfeatures_item == 'res3' or isinstance(data__model__semseghead__deformabletransformerencoderinfeatures_item, str) and data__model__semseghead__deformabletransformerencoderinfeatures_item == 'res4' or isinstance(data__model__semseghead__deformabletransformerencoderinfeatures_item, str) and data__model__semseghead__deformabletransformerencoderinfeatures_item == 'res5'):
                                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.sem_seg_head.deformable_transformer_encoder_in_features[{data__model__semseghead__deformabletransformerencoderinfeatures_x}]".format(**locals()) + " must be one of ['res2', 'res3', 'res4', 'res5']")
                        if "num_classes" in data__model__semseghead_keys:
                            data__model__semseghead_keys.remove("num_classes")
                            data__model__semseghead__numclasses = data__model__semseghead["num_classes"]
                            if not isinstance(data__model__semseghead__numclasses, (int)) and not (isinstance(data__model__semseghead__numclasses, float) and data__model__semseghead__numclasses.is_integer()) or isinstance(data__model__semseghead__numclasses, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.sem_seg_head.num_classes must be integer")
                            if isinstance(data__model__semseghead__numclasses, (int, float, Decimal)) and not isinstance(data__model__semseghead__numclasses, bool):
                                if data__model__semseghead__numclasses < 2:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.sem_seg_head.num_classes must be bigger than or equal to 2")
                        if "norm" in data__model__semseghead_keys:
                            data__model__semseghead_keys.remove("norm")
                            data__model__semseghead__norm = data__model__semseghead["norm"]
                            if not isinstance(data__model__semseghead__norm, (str)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.sem_seg_head.norm must be string")
                            if not (isinstance(data__model__semseghead__norm, str) and data__model__semseghead__norm == 'GN' or isinstance(data__model__semseghead__norm, str) and data__model__semseghead__norm == 'BN' or isinstance(data__model__semseghead__norm, str) and data__model__semseghead__norm == 'LN' or isinstance(data__model__semseghead__norm, str) and data__model__semseghead__norm == ''):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.sem_seg_head.norm must be one of ['GN', 'BN', 'LN', '']")
                        if "in_features" in data__model__semseghead_keys:
                            data__model__semseghead_keys.remove("in_features")
                            data__model__semseghead__infeatures = data__model__semseghead["in_features"]
                            if not isinstance(data__model__semseghead__infeatures, (list, tuple)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.sem_seg_head.in_features must be array")
                            data__model__semseghead__infeatures_is_list = isinstance(data__model__semseghead__infeatures, (list, tuple))
                            if data__model__semseghead__infeatures_is_list:
                                data__model__semseghead__infeatures_len = len(data__model__semseghead__infeatures)
                                if data__model__semseghead__infeatures_len < 1:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.sem_seg_head.in_features must contain at least 1 items")
                                for data__model__semseghead__infeatures_x, data__model__semseghead__infeatures_item in enumerate(data__model__semseghead__infeatures):
                                    if not isinstance(data__model__semseghead__infeatures_item, (str)):
                                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.sem_seg_head.in_features[{data__model__semseghead__infeatures_x}]".format(**locals()) + " must be string")
                                    if not (isinstance(data__model__semseghead__infeatures_item, str) and data__model__semseghead__infeatures_item == 'res2' or isinstance(data__model__semseghead__infeatures_item, str) and data__model__semseghead__infeatures_item == 'res3' or isinstance(data__model__semseghead__infeatures_item, str) and data__model__semseghead__infeatures_item == 'res4' or isinstance(data__model__semseghead__infeatures_item, str) and data__model__semseghead__infeatures_item == 'res5'):
                                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.sem_seg_head.in_features[{data__model__semseghead__infeatures_x}]".format(**locals()) + " must be one of ['res2', 'res3', 'res4', 'res5']")
                        if data__model__semseghead_keys:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.sem_seg_head must not contain "+str(data__model__semseghead_keys)+" properties")
                if "mask_former" in data__model_keys:
                    data__model_keys.remove("mask_former")
                    data__model__maskformer = data__model["mask_former"]
                    if not isinstance(data__model__maskformer, (dict)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mask_former must be object")
                    data__model__maskformer_is_dict = isinstance(data__model__maskformer, dict)
                    if data__model__maskformer_is_dict:
                        data__model__maskformer_keys = set(data__model__maskformer.keys())
                        if "dropout" in data__model__maskformer_keys:
                            data__model__maskformer_keys.remove("dropout")
                            data__model__maskformer__dropout = data__model__maskformer["dropout"]
                            if not isinstance(data__model__maskformer__dropout, (int, float, Decimal)) or isinstance(data__model__maskformer__dropout, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mask_former.dropout must be number")
                            if isinstance(data__model__maskformer__dropout, (int, float, Decimal)) and not isinstance(data__model__maskformer__dropout, bool):
                                if data__model__maskformer__dropout < 0.0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mask_former.dropout must be bigger than or equal to 0.0")
                                if data__model__maskformer__dropout > 1.0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mask_former.dropout must be smaller than or equal to 1.0")
                        if "nheads" in data__model__maskformer_keys:
                            data__model__maskformer_keys.remove("nheads")
                            data__model__maskformer__nheads = data__model__maskformer["nheads"]
                            if not isinstance(data__model__maskformer__nheads, (int)) and not (isinstance(data__model__maskformer__nheads, float) and data__model__maskformer__nheads.is_integer()) or isinstance(data__model__maskformer__nheads, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mask_former.nheads must be integer")
                            if isinstance(data__model__maskformer__nheads, (int, float, Decimal)) and not isinstance(data__model__maskformer__nheads, bool):
                                if data__model__maskformer__nheads < 1:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mask_former.nheads must be bigger than or equal to 1")
                        if "num_object_queries" in data__model__maskformer_keys:
                            data__model__maskformer_keys.remove("num_object_queries")
                            data__model__maskformer__numobjectqueries = data__model__maskformer["num_object_queries"]
                            if not isinstance(data__model__maskformer__numobjectqueries, (int)) and not (isinstance(data__model__maskformer__numobjectqueries, float) and data__model__maskformer__numobjectqueries.is_integer()) or isinstance(data__model__maskformer__numobjectqueries, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mask_former.num_object_queries must be integer")
                            if isinstance(data__model__maskformer__numobjectqueries, (int, float, Decimal)) and not isinstance(data__model__maskformer__numobjectqueries, bool):
                                if data__model__maskformer__numobjectqueries < 1:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mask_former.num_object_queries must be bigger than or equal to 1")
                        if "hidden_dim" in data__model__maskformer_keys:
                            data__model__maskformer_keys.remove("hidden_dim")
                            data__model__maskformer__hiddendim = data__model__maskformer["hidden_dim"]
                            if not isinstance(data__model__maskformer__hiddendim, (int)) and not (isinstance(data__model__maskformer__hiddendim, float) and data__model__maskformer__hiddendim.is_integer()) or isinstance(data__model__maskformer__hiddendim, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mask_former.hidden_dim must be integer")
                            if isinstance(data__model__maskformer__hiddendim, (int, float, Decimal)) and not isinstance(data__model__maskformer__hiddendim, bool):
                                if data__model__maskformer__hiddendim < 1:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mask_former.hidden_dim must be bigger than or equal to 1")
                        if "transformer_dim_feedforward" in data__model__maskformer_keys:
                            data__model__maskformer_keys.remove("transformer_dim_feedforward")
                            data__model__maskformer__transformerdimfeedforward = data__model__maskformer["transformer_dim_feedforward"]
                            if not isinstance(data__model__maskformer__transformerdimfeedforward, (int)) and not (isinstance(data__model__maskformer__transformerdimfeedforward, float) and data__model__maskformer__transformerdimfeedforward.is_integer()) or isinstance(data__model__maskformer__transformerdimfeedforward, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mask_former.transformer_dim_feedforward must be integer")
                            if isinstance(data__model__maskformer__transformerdimfeedforward, (int, float, Decimal)) and not isinstance(data__model__maskformer__transformerdimfeedforward, bool):
                                if data__model__maskformer__transformerdimfeedforward < 1:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mask_former.transformer_dim_feedforward must be bigger than or equal to 1")
                        if "dim_feedforward" in data__model__maskformer_keys:
                            data__model__maskformer_keys.remove("dim_feedforward")
                            data__model__maskformer__dimfeedforward = data__model__maskformer["dim_feedforward"]
                            if not isinstance(data__model__maskformer__dimfeedforward, (int)) and not (isinstance(data__model__maskformer__dimfeedforward, float) and data__model__maskformer__dimfeedforward.is_integer()) or isinstance(data__model__maskformer__dimfeedforward, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mask_former.dim_feedforward must be integer")
                            if isinstance(data__model__maskformer__dimfeedforward, (int, float, Decimal)) and not isinstance(data__model__maskformer__dimfeedforward, bool):
                                if data__model__maskformer__dimfeedforward < 1:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mask_former.dim_feedforward must be bigger than or equal to 1")
                        if "dec_layers" in data__model__maskformer_keys:
                            data__model__maskformer_keys.remove("dec_layers")
                            data__model__maskformer__declayers = data__model__maskformer["dec_layers"]
                            if not isinstance(data__model__maskformer__declayers, (int)) and not (isinstance(data__model__maskformer__declayers, float) and data__model__maskformer__declayers.is_integer()) or isinstance(data__model__maskformer__declayers, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mask_former.dec_layers must be integer")
                            if isinstance(data__model__maskformer__declayers, (int, float, Decimal)) and not isinstance(data__model__maskformer__declayers, bool):
                                if data__model__maskformer__declayers < 1:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mask_former.dec_layers must be bigger than or equal to 1")
                        if "pre_norm" in data__model__maskformer_keys:
                            data__model__maskformer_keys.remove("pre_norm")
                            data__model__maskformer__prenorm = data__model__maskformer["pre_norm"]
                            if not isinstance(data__model__maskformer__prenorm, (bool)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mask_former.pre_norm must be boolean")
                        if "class_weight" in data__model__maskformer_keys:
                            data__model__maskformer_keys.remove("class_weight")
                            data__model__maskformer__classweight = data__model__maskformer["class_weight"]
                            if not isinstance(data__model__maskformer__classweight, (int, float, Decimal)) or isinstance(data__model__maskformer__classweight, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mask_former.class_weight must be number")
                            if isinstance(data__model__maskformer__classweight, (int, float, Decimal)) and not isinstance(data__model__maskformer__classweight, bool):
                                if data__model__maskformer__classweight < 0.0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mask_former.class_weight must be bigger than or equal to 0.0")
                        if "dice_weight" in data__model__maskformer_keys:
                            data__model__maskformer_keys.remove("dice_weight")
                            data__model__maskformer__diceweight = data__model__maskformer["dice_weight"]
                            if not isinstance(data__model__maskformer__diceweight, (int, float, Decimal)) or isinstance(data__model__maskformer__diceweight, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mask_former.dice_weight must be number")
                            if isinstance(data__model__maskformer__diceweight, (int, float, Decimal)) and not isinstance(data__model__maskformer__diceweight, bool):
                                if data__model__maskformer__diceweight < 0.0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mask_former.dice_weight must be bigger than or equal to 0.0")
                        if "mask_weight" in data__model__maskformer_keys:
                            data__model__maskformer_keys.remove("mask_weight")
                            data__model__maskformer__maskweight = data__model__maskformer["mask_weight"]
                            if not isinstance(data__model__maskformer__maskweight, (int, float, Decimal)) or isinstance(data__model__maskformer__maskweight, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mask_former.mask_weight must be number")
                            if isinstance(data__model__maskformer__maskweight, (int, float, Decimal)) and not isinstance(data__model__maskformer__maskweight, bool):
                                if data__model__maskformer__maskweight < 0.0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mask_former.mask_weight must be bigger than or equal to 0.0")
                        if "depth_weight" in data__model__maskformer_keys:
                            data__model__maskformer_keys.remove("depth_weight")
                            data__model__maskformer__depthweight = data__model__maskformer["depth_weight"]
                            if not isinstance(data__model__maskformer__depthweight, (int, float, Decimal)) or isinstance(data__model__maskformer__depthweight, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mask_former.depth_weight must be number")
                            if isinstance(data__model__maskformer__depthweight, (int, float, Decimal)) and not isinstance(data__model__maskformer__depthweight, bool):
                                if data__model__maskformer__depthweight < 0.0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mask_former.depth_weight must be bigger than or equal to 0.0")
                        if "mp_occ_weight" in data__model__maskformer_keys:
                            data__model__maskformer_keys.remove("mp_occ_weight")
                            data__model__maskformer__mpoccweight = data__model__maskformer["mp_occ_weight"]
                            if not isinstance(data__model__maskformer__mpoccweight, (int, float, Decimal)) or isinstance(data__model__maskformer__mpoccweight, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mask_former.mp_occ_weight must be number")
                            if isinstance(data__model__maskformer__mpoccweight, (int, float, Decimal)) and not isinstance(data__model__maskformer__mpoccweight, bool):
                                if data__model__maskformer__mpoccweight < 0.0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mask_former.mp_occ_weight must be bigger than or equal to 0.0")
                        if "train_num_points" in data__model__maskformer_keys:
                            data__model__maskformer_keys.remove("train_num_points")
                            data__model__maskformer__trainnumpoints = data__model__maskformer["train_num_points"]
                            if not isinstance(data__model__maskformer__trainnumpoints, (int)) and not (isinstance(data__model__maskformer__trainnumpoints, float) and data__model__maskformer__trainnumpoints.is_integer()) or isinstance(data__model__maskformer__trainnumpoints, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mask_former.train_num_points must be integer")
                            if isinstance(data__model__maskformer__trainnumpoints, (int, float, Decimal)) and not isinstance(data__model__maskformer__trainnumpoints, bool):
                                if data__model__maskformer__trainnumpoints < 1:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mask_former.train_num_points must be bigger than or equal to 1")
                        if "oversample_ratio" in data__model__maskformer_keys:
                            data__model__maskformer_keys.remove("oversample_ratio")
                            data__model__maskformer__oversampleratio = data__model__maskformer["oversample_ratio"]
                            if not isinstance(data__model__maskformer__oversampleratio, (int, float, Decimal)) or isinstance(data__model__maskformer__oversampleratio, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mask_former.oversample_ratio must be number")
                            if isinstance(data__model__maskformer__oversampleratio, (int, float, Decimal)) and not isinstance(data__model__maskformer__oversampleratio, bool):
                                if data__model__maskformer__oversampleratio < 1.0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mask_former.oversample_ratio must be bigger than or equal to 1.0")
                        if "importance_sample_ratio" in data__model__maskformer_keys:
                            data__model__maskformer_keys.remove("importance_sample_ratio")
                            data__model__maskformer__importancesampleratio = data__model__maskformer["importance_sample_ratio"]
                            if not isinstance(data__model__maskformer__importancesampleratio, (int, float, Decimal)) or isinstance(data__model__maskformer__importancesampleratio, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mask_former.importance_sample_ratio must be number")
                            if isinstance(data__model__maskformer__importancesampleratio, (int, float, Decimal)) and not isinstance(data__model__maskformer__importancesampleratio, bool):
                                if data__model__maskformer__importancesampleratio < 0.0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mask_former.importance_sample_ratio must be bigger than or equal to 0.0")
                                if data__model__maskformer__importancesampleratio > 1.0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mask_former.importance_sample_ratio must be smaller than or equal to 1.0")
                        if "deep_supervision" in data__model__maskformer_keys:
                            data__model__maskformer_keys.remove("deep_supervision")
                            data__model__maskformer__deepsupervision = data__model__maskformer["deep_supervision"]
                            if not isinstance(data__model__maskformer__deepsupervision, (bool)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mask_former.deep_supervision must be boolean")
                        if "no_object_weight" in data__model__maskformer_keys:
                            data__model__maskformer_keys.remove("no_object_weight")
                            data__model__maskformer__noobjectweight = data__model__maskformer["no_object_weight"]
                            if not isinstance(data__model__maskformer__noobjectweight, (int, float, Decimal)) or isinstance(data__model__maskformer__noobjectweight, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mask_former.no_object_weight must be number")
                            if isinstance(data__model__maskformer__noobjectweight, (int, float, Decimal)) and not isinstance(data__model__maskformer__noobjectweight, bool):
                                if data__model__maskformer__noobjectweight < 0.0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mask_former.no_object_weight must be bigger than or equal to 0.0")
                                if data__model__maskformer__noobjectweight > 1.0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mask_former.no_object_weight must be smaller than or equal to 1.0")
                        if "size_divisibility" in data__model__maskformer_keys:
                            data__model__maskformer_keys.remove("size_divisibility")
                            data__model__maskformer__sizedivisibility = data__model__maskformer["size_divisibility"]
                            if not isinstance(data__model__maskformer__sizedivisibility, (int)) and not (isinstance(data__model__maskformer__sizedivisibility, float) and data__model__maskformer__sizedivisibility.is_integer()) or isinstance(data__model__maskformer__sizedivisibility, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mask_former.size_divisibility must be integer")
                            if isinstance(data__model__maskformer__sizedivisibility, (int, float, Decimal)) and not isinstance(data__model__maskformer__sizedivisibility, bool):
                                if data__model__maskformer__sizedivisibility < -1:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mask_former.size_divisibility must be bigger than or equal to -1")
                        if data__model__maskformer_keys:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.mask_former must not contain "+str(data__model__maskformer_keys)+" properties")
                if "frustum3d" in data__model_keys:
                    data__model_keys.remove("frustum3d")
                    data__model__frustum3d = data__model["frustum3d"]
                    if not isinstance(data__model__frustum3d, (dict)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.frustum3d must be object")
                    data__model__frustum3d_is_dict = isinstance(data__model__frustum3d, dict)
                    if data__model__frustum3d_is_dict:
                        data__model__frustum3d_keys = set(data__model__frustum3d.keys())
                        if "truncation" in data__model__frustum3d_keys:
                            data__model__frustum3d_keys.remove("truncation")
                            data__model__frustum3d__truncation = data__model__frustum3d["truncation"]
                            if not isinstance(data__model__frustum3d__truncation, (int, float, Decimal)) or isinstance(data__model__frustum3d__truncation, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.frustum3d.truncation must be number")
                            if isinstance(data__model__frustum3d__truncation, (int, float, Decimal)) and not isinstance(data__model__frustum3d__truncation, bool):
                                if data__model__frustum3d__truncation <= 0.0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.frustum3d.truncation must be bigger than 0.0")
                        if "iso_recon_value" in data__model__frustum3d_keys:
                            data__model__frustum3d_keys.remove("iso_recon_value")
                            data__model__frustum3d__isoreconvalue = data__model__frustum3d["iso_recon_value"]
                            if not isinstance(data__model__frustum3d__isoreconvalue, (int, float, Decimal)) or isinstance(data__model__frustum3d__isoreconvalue, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.frustum3d.iso_recon_value must be number")
                            if isinstance(data__model__frustum3d__isoreconvalue, (int, float, Decimal)) and not isinstance(data__model__frustum3d__isoreconvalue, bool):
                                if data__model__frustum3d__isoreconvalue <= 0.0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.frustum3d.iso_recon_value must be bigger than 0.0")
                        if "panoptic_weight" in data__model__frustum3d_keys:
                            data__model__frustum3d_keys.remove("panoptic_weight")
                            data__model__frustum3d__panopticweight = data__model__frustum3d["panoptic_weight"]
                            if not isinstance(data__model__frustum3d__panopticweight, (int, float, Decimal)) or isinstance(data__model__frustum3d__panopticweight, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.frustum3d.panoptic_weight must be number")
                            if isinstance(data__model__frustum3d__panopticweight, (int, float, Decimal)) and not isinstance(data__model__frustum3d__panopticweight, bool):
                                if data__model__frustum3d__panopticweight < 0.0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.frustum3d.panoptic_weight must be bigger than or equal to 0.0")
                        if "completion_weights" in data__model__frustum3d_keys:
                            data__model__frustum3d_keys.remove("completion_weights")
                            data__model__frustum3d__completionweights = data__model__frustum3d["completion_weights"]
                            if not isinstance(data__model__frustum3d__completionweights, (list, tuple)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.frustum3d.completion_weights must be array")
                            data__model__frustum3d__completionweights_is_list = isinstance(data__model__frustum3d__completionweights, (list, tuple))
                            if data__model__frustum3d__completionweights_is_list:
                                data__model__frustum3d__completionweights_len = len(data__model__frustum3d__completionweights)
                                if data__model__frustum3d__completionweights_len < 3:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.frustum3d.completion_weights must contain at least 3 items")
                                if data__model__frustum3d__completionweights_len > 3:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.frustum3d.completion_weights must contain less than or equal to 3 items")
                                for data__model__frustum3d__completionweights_x, data__model__frustum3d__completionweights_item in enumerate(data__model__frustum3d__completionweights):
                                    if not isinstance(data__model__frustum3d__completionweights_item, (int, float, Decimal)) or isinstance(data__model__frustum3d__completionweights_item, bool):
                                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.frustum3d.completion_weights[{data__model__frustum3d__completionweights_x}]".format(**locals()) + " must be number")
                        if "surface_weight" in data__model__frustum3d_keys:
                            data__model__frustum3d_keys.remove("surface_weight")
                            data__model__frustum3d__surfaceweight = data__model__frustum3d["surface_weight"]
                            if not isinstance(data__model__frustum3d__surfaceweight, (int, float, Decimal)) or isinstance(data__model__frustum3d__surfaceweight, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.frustum3d.surface_weight must be number")
                            if isinstance(data__model__frustum3d__surfaceweight, (int, float, Decimal)) and not isinstance(data__model__frustum3d__surfaceweight, bool):
                                if data__model__frustum3d__surfaceweight < 0.0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.frustum3d.surface_weight must be bigger than or equal to 0.0")
                        if "unet_output_channels" in data__model__frustum3d_keys:
                            data__model__frustum3d_keys.remove("unet_output_channels")
                            data__model__frustum3d__unetoutputchannels = data__model__frustum3d["unet_output_channels"]
                            if not isinstance(data__model__frustum3d__unetoutputchannels, (int)) and not (isinstance(data__model__frustum3d__unetoutputchannels, float) and data__model__frustum3d__unetoutputchannels.is_integer()) or isinstance(data__model__frustum3d__unetoutputchannels, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.frustum3d.unet_output_channels must be integer")
                            if isinstance(data__model__frustum3d__unetoutputchannels, (int, float, Decimal)) and not isinstance(data__model__frustum3d__unetoutputchannels, bool):
                                if data__model__frustum3d__unetoutputchannels < 1:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.frustum3d.unet_output_channels must be bigger than or equal to 1")
                        if "unet_features" in data__model__frustum3d_keys:
                            data__model__frustum3d_keys.remove("unet_features")
                            data__model__frustum3d__unetfeatures = data__model__frustum3d["unet_features"]
                            if not isinstance(data__model__frustum3d__unetfeatures, (int)) and not (isinstance(data__model__frustum3d__unetfeatures, float) and data__model__frustum3d__unetfeatures.is_integer()) or isinstance(data__model__frustum3d__unetfeatures, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.frustum3d.unet_features must be integer")
                            if isinstance(data__model__frustum3d__unetfeatures, (int, float, Decimal)) and not isinstance(data__model__frustum3d__unetfeatures, bool):
                                if data__model__frustum3d__unetfeatures < 1:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.frustum3d.unet_features must be bigger than or equal to 1")
                        if "use_multi_scale" in data__model__frustum3d_keys:
                            data__model__frustum3d_keys.remove("use_multi_scale")
                            data__model__frustum3d__usemultiscale = data__model__frustum3d["use_multi_scale"]
                            if not isinstance(data__model__frustum3d__usemultiscale, (bool)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.frustum3d.use_multi_scale must be boolean")
                        if "grid_dimensions" in data__model__frustum3d_keys:
                            data__model__frustum3d_keys.remove("grid_dimensions")
                            data__model__frustum3d__griddimensions = data__model__frustum3d["grid_dimensions"]
                            if not isinstance(data__model__frustum3d__griddimensions, (int)) and not (isinstance(data__model__frustum3d__griddimensions, float) and data__model__frustum3d__griddimensions.is_integer()) or isinstance(data__model__frustum3d__griddimensions, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.frustum3d.grid_dimensions must be integer")
                            if isinstance(data__model__frustum3d__griddimensions, (int, float, Decimal)) and not isinstance(data__model__frustum3d__griddimensions, bool):
                                if data__model__frustum3d__griddimensions < 8:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.frustum3d.grid_dimensions must be bigger than or equal to 8")
                                if isinstance(data__model__frustum3d__griddimensions, int) and isinstance(8, int):
                                    if data__model__frustum3d__griddimensions % 8 != 0:
                                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.frustum3d.grid_dimensions must be multiple of 8")
                                else:
                                    quotient = data__model__frustum3d__griddimensions / 8
                                    if int(quotient) != quotient:
                                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.frustum3d.grid_dimensions must be multiple of 8")
                                    if data__model__frustum3d__griddimensions / 8 == float("inf"):
                                        raise JsonSchemaValueException("inifinity reached")
                        if "frustum_dims" in data__model__frustum3d_keys:
                            data__model__frustum3d_keys.remove("frustum_dims")
                            data__model__frustum3d__frustumdims = data__model__frustum3d["frustum_dims"]
                            if not isinstance(data__model__frustum3d__frustumdims, (int)) and not (isinstance(data__model__frustum3d__frustumdims, float) and data__model__frustum3d__frustumdims.is_integer()) or isinstance(data__model__frustum3d__frustumdims, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.frustum3d.frustum_dims must be integer")
                            if isinstance(data__model__frustum3d__frustumdims, (int, float, Decimal)) and not isinstance(data__model__frustum3d__frustumdims, bool):
                                if data__model__frustum3d__frustumdims < 8:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.frustum3d.frustum_dims must be bigger than or equal to 8")
                                if isinstance(data__model__frustum3d__frustumdims, int) and isinstance(8, int):
                                    if data__model__frustum3d__frustumdims % 8 != 0:
                                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.frustum3d.frustum_dims must be multiple of 8")
                                else:
                                    quotient = data__model__frustum3d__frustumdims / 8
                                    if int(quotient) != quotient:
                                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.frustum3d.frustum_dims must be multiple of 8")
                                    if data__model__frustum3d__frustumdims / 8 == float("inf"):
                                        raise JsonSchemaValueException("inifinity reached")
                        if "signed_channel" in data__model__frustum3d_keys:
                            data__model__frustum3d_keys.remove("signed_channel")
                            data__model__frustum3d__signedchannel = data__model__frustum3d["signed_channel"]
                            if not isinstance(data__model__frustum3d__signedchannel, (int)) and not (isinstance(data__model__frustum3d__signedchannel, float) and data__model__frustum3d__signedchannel.is_integer()) or isinstance(data__model__frustum3d__signedchannel, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.frustum3d.signed_channel must be integer")
                            if isinstance(data__model__frustum3d__signedchannel, (int, float, Decimal)) and not isinstance(data__model__frustum3d__signedchannel, bool):
                                if data__model__frustum3d__signedchannel < 0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.frustum3d.signed_channel must be bigger than or equal to 0")
                        if "backend" in data__model__frustum3d_keys:
                            data__model__frustum3d_keys.remove("backend")
                            data__model__frustum3d__backend = data__model__frustum3d["backend"]
                            if not isinstance(data__model__frustum3d__backend, (str)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.frustum3d.backend must be string")
                            if not (isinstance(data__model__frustum3d__backend, str) and data__model__frustum3d__backend == 'dense' or isinstance(data__model__frustum3d__backend, str) and data__model__frustum3d__backend == 'sparse' or isinstance(data__model__frustum3d__backend, str) and data__model__frustum3d__backend == 'spconv'):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.frustum3d.backend must be one of ['dense', 'sparse', 'spconv']")
                        if "max_voxels" in data__model__frustum3d_keys:
                            data__model__frustum3d_keys.remove("max_voxels")
                            data__model__frustum3d__maxvoxels = data__model__frustum3d["max_voxels"]
                            if not isinstance(data__model__frustum3d__maxvoxels, (int)) and not (isinstance(data__model__frustum3d__maxvoxels, float) and data__model__frustum3d__maxvoxels.is_integer()) or isinstance(data__model__frustum3d__maxvoxels, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.frustum3d.max_voxels must be integer")
                            if isinstance(data__model__frustum3d__maxvoxels, (int, float, Decimal)) and not isinstance(data__model__frustum3d__maxvoxels, bool):
                                if data__model__frustum3d__maxvoxels < 0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.frustum3d.max_voxels must be bigger than or equal to 0")
                        if data__model__frustum3d_keys:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.frustum3d must not contain "+str(data__model__frustum3d_keys)+" properties")
                if "projection" in data__model_keys:
                    data__model_keys.remove("projection")
                    data__model__projection = data__model["projection"]
                    if not isinstance(data__model__projection, (dict)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.projection must be object")
                    data__model__projection_is_dict = isinstance(data__model__projection, dict)
                    if data__model__projection_is_dict:
                        data__model__projection_keys = set(data__model__projection.keys())
                        if "voxel_size" in data__model__projection_keys:
                            data__model__projection_keys.remove("voxel_size")
                            data__model__projection__voxelsize = data__model__projection["voxel_size"]
                            if not isinstance(data__model__projection__voxelsize, (int, float, Decimal)) or isinstance(data__model__projection__voxelsize, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.projection.voxel_size must be number")
                            if isinstance(data__model__projection__voxelsize, (int, float, Decimal)) and not isinstance(data__model__projection__voxelsize, bool):
                                if data__model__projection__voxelsize <= 0.0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.projection.voxel_size must be bigger than 0.0")
                        if "sign_channel" in data__model__projection_keys:
                            data__model__projection_keys.remove("sign_channel")
                            data__model__projection__signchannel = data__model__projection["sign_channel"]
                            if not isinstance(data__model__projection__signchannel, (bool)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.projection.sign_channel must be boolean")
                        if "depth_feature_dim" in data__model__projection_keys:
                            data__model__projection_keys.remove("depth_feature_dim")
                            data__model__projection__depthfeaturedim = data__model__projection["depth_feature_dim"]
                            if not isinstance(data__model__projection__depthfeaturedim, (int)) and not (isinstance(data__model__projection__depthfeaturedim, float) and data__model__projection__depthfeaturedim.is_integer()) or isinstance(data__model__projection__depthfeaturedim, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.projection.depth_feature_dim must be integer")
                            if isinstance(data__model__projection__depthfeaturedim, (int, float, Decimal)) and not isinstance(data__model__projection__depthfeaturedim, bool):
                                if data__model__projection__depthfeaturedim < 1:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.projection.depth_feature_dim must be bigger than or equal to 1")
                        if "depth_bins" in data__model__projection_keys:
                            data__model__projection_keys.remove("depth_bins")
                            data__model__projection__depthbins = data__model__projection["depth_bins"]
                            if not isinstance(data__model__projection__depthbins, (int)) and not (isinstance(data__model__projection__depthbins, float) and data__model__projection__depthbins.is_integer()) or isinstance(data__model__projection__depthbins, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.projection.depth_bins must be integer")
                            if isinstance(data__model__projection__depthbins, (int, float, Decimal)) and not isinstance(data__model__projection__depthbins, bool):
                                if data__model__projection__depthbins < 2:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.projection.depth_bins must be bigger than or equal to 2")
                        if data__model__projection_keys:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".model.projection must not contain "+str(data__model__projection_keys)+" properties")
                if data__model_keys:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".model must not contain "+str(data__model_keys)+" properties")
        if "dataset" in data_keys:
            data_keys.remove("dataset")
            data__dataset = data["dataset"]
            if not isinstance(data__dataset, (dict)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset must be object")
            data__dataset_is_dict = isinstance(data__dataset, dict)
            if data__dataset_is_dict:
                data__dataset_keys = set(data__dataset.keys())
                if "train" in data__dataset_keys:
                    data__dataset_keys.remove("train")
                    data__dataset__train = data__dataset["train"]
                    if not isinstance(data__dataset__train, (dict)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.train must be object")
                    data__dataset__train_is_dict = isinstance(data__dataset__train, dict)
                    if data__dataset__train_is_dict:
                        data__dataset__train_keys = set(data__dataset__train.keys())
                        if "base_dir" in data__dataset__train_keys:
                            data__dataset__train_keys.remove("base_dir")
                            data__dataset__train__basedir = data__dataset__train["base_dir"]
                            if not isinstance(data__dataset__train__basedir, (str)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.train.base_dir must be string")
                        if "json_path" in data__dataset__train_keys:
                            data__dataset__train_keys.remove("json_path")
                            data__dataset__train__jsonpath = data__dataset__train["json_path"]
                            if not isinstance(data__dataset__train__jsonpath, (str)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.train.json_path must be string")
                        if "batch_size" in data__dataset__train_keys:
                            data__dataset__train_keys.remove("batch_size")
                            data__dataset__train__batchsize = data__dataset__train["batch_size"]
                            if not isinstance(data__dataset__train__batchsize, (int)) and not (isinstance(data__dataset__train__batchsize, float) and data__dataset__train__batchsize.is_integer()) or isinstance(data__dataset__train__batchsize, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.train.batch_size must be integer")
                            if isinstance(data__dataset__train__batchsize, (int, float, Decimal)) and not isinstance(data__dataset__train__batchsize, bool):
                                if data__dataset__train__batchsize < 1:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.train.batch_size must be bigger than or equal to 1")
                        if "num_workers" in data__dataset__train_keys:
                            data__dataset__train_keys.remove("num_workers")
                            data__dataset__train__numworkers = data__dataset__train["num_workers"]
                            if not isinstance(data__dataset__train__numworkers, (int)) and not (isinstance(data__dataset__train__numworkers, float) and data__dataset__train__numworkers.is_integer()) or isinstance(data__dataset__train__numworkers, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.train.num_workers must be integer")
                            if isinstance(data__dataset__train__numworkers, (int, float, Decimal)) and not isinstance(data__dataset__train__numworkers, bool):
                                if data__dataset__train__numworkers < 0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.train.num_workers must be bigger than or equal to 0")
                        if "max_samples" in data__dataset__train_keys:
                            data__dataset__train_keys.remove("max_samples")
                            data__dataset__train__maxsamples = data__dataset__train["max_samples"]
                            if not isinstance(data__dataset__train__maxsamples, (int)) and not (isinstance(data__dataset__train__maxsamples, float) and data__dataset__train__maxsamples.is_integer()) or isinstance(data__dataset__train__maxsamples, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.train.max_samples must be integer")
                            if isinstance(data__dataset__train__maxsamples, (int, float, Decimal)) and not isinstance(data__dataset__train__maxsamples, bool):
                                if data__dataset__train__maxsamples < -1:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.train.max_samples must be bigger than or equal to -1")
                        if data__dataset__train_keys:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.train must not contain "+str(data__dataset__train_keys)+" properties")
                if "val" in data__dataset_keys:
                    data__dataset_keys.remove("val")
                    data__dataset__val = data__dataset["val"]
                    if not isinstance(data__dataset__val, (dict)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.val must be object")
                    data__dataset__val_is_dict = isinstance(data__dataset__val, dict)
                    if data__dataset__val_is_dict:
                        data__dataset__val_keys = set(data__dataset__val.keys())
                        if "base_dir" in data__dataset__val_keys:
                            data__dataset__val_keys.remove("base_dir")
                            data__dataset__val__basedir = data__dataset__val["base_dir"]
                            if not isinstance(data__dataset__val__basedir, (str)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.val.base_dir must be string")
                        if "json_path" in data__dataset__val_keys:
                            data__dataset__val_keys.remove("json_path")
                            data__dataset__val__jsonpath = data__dataset__val["json_path"]
                            if not isinstance(data__dataset__val__jsonpath, (str)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.val.json_path must be string")
                        if "batch_size" in data__dataset__val_keys:
                            data__dataset__val_keys.remove("batch_size")
                            data__dataset__val__batchsize = data__dataset__val["batch_size"]
                            if not isinstance(data__dataset__val__batchsize, (int)) and not (isinstance(data__dataset__val__batchsize, float) and data__dataset__val__batchsize.is_integer()) or isinstance(data__dataset__val__batchsize, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.val.batch_size must be integer")
                            if isinstance(data__dataset__val__batchsize, (int, float, Decimal)) and not isinstance(data__dataset__val__batchsize, bool):
                                if data__dataset__val__batchsize < 1:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.val.batch_size must be bigger than or equal to 1")
                        if "num_workers" in data__dataset__val_keys:
                            data__dataset__val_keys.remove("num_workers")
                            data__dataset__val__numworkers = data__dataset__val["num_workers"]
                            if not isinstance(data__dataset__val__numworkers, (int)) and not (isinstance(data__dataset__val__numworkers, float) and data__dataset__val__numworkers.is_integer()) or isinstance(data__dataset__val__numworkers, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.val.num_workers must be integer")
                            if isinstance(data__dataset__val__numworkers, (int, float, Decimal)) and not isinstance(data__dataset__val__numworkers, bool):
                                if data__dataset__val__numworkers < 0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.val.num_workers must be bigger than or equal to 0")
                        if "max_samples" in data__dataset__val_keys:
                            data__dataset__val_keys.remove("max_samples")
                            data__dataset__val__maxsamples = data__dataset__val["max_samples"]
                            if not isinstance(data__dataset__val__maxsamples, (int)) and not (isinstance(data__dataset__val__maxsamples, float) and data__dataset__val__maxsamples.is_integer()) or isinstance(data__dataset__val__maxsamples, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.val.max_samples must be integer")
                            if isinstance(data__dataset__val__maxsamples, (int, float, Decimal)) and not isinstance(data__dataset__val__maxsamples, bool):
                                if data__dataset__val__maxsamples < -1:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.val.max_samples must be bigger than or equal to -1")
                        if data__dataset__val_keys:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.val must not contain "+str(data__dataset__val_keys)+" properties")
                if "test" in data__dataset_keys:
                    data__dataset_keys.remove("test")
                    data__dataset__test = data__dataset["test"]
                    if not isinstance(data__dataset__test, (dict)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.test must be object")
                    data__dataset__test_is_dict = isinstance(data__dataset__test, dict)
                    if data__dataset__test_is_dict:
                        data__dataset__test_keys = set(data__dataset__test.keys())
                        if "base_dir" in data__dataset__test_keys:
                            data__dataset__test_keys.remove("base_dir")
                            data__dataset__test__basedir = data__dataset__test["base_dir"]
                            if not isinstance(data__dataset__test__basedir, (str)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.test.base_dir must be string")
                        if "json_path" in data__dataset__test_keys:
                            data__dataset__test_keys.remove("json_path")
                            data__dataset__test__jsonpath = data__dataset__test["json_path"]
                            if not isinstance(data__dataset__test__jsonpath, (str)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.test.json_path must be string")
                        if "batch_size" in data__dataset__test_keys:
                            data__dataset__test_keys.remove("batch_size")
                            data__dataset__test__batchsize = data__dataset__test["batch_size"]
                            if not isinstance(data__dataset__test__batchsize, (int)) and not (isinstance(data__dataset__test__batchsize, float) and data__dataset__test__batchsize.is_integer()) or isinstance(data__dataset__test__batchsize, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.test.batch_size must be integer")
                            if isinstance(data__dataset__test__batchsize, (int, float, Decimal)) and not isinstance(data__dataset__test__batchsize, bool):
                                if data__dataset__test__batchsize < 1:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.test.batch_size must be bigger than or equal to 1")
                        if "num_workers" in data__dataset__test_keys:
                            data__dataset__test_keys.remove("num_workers")
                            data__dataset__test__numworkers = data__dataset__test["num_workers"]
                            if not isinstance(data__dataset__test__numworkers, (int)) and not (isinstance(data__dataset__test__numworkers, float) and data__dataset__test__numworkers.is_integer()) or isinstance(data__dataset__test__numworkers, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.test.num_workers must be integer")
                            if isinstance(data__dataset__test__numworkers, (int, float, Decimal)) and not isinstance(data__dataset__test__numworkers, bool):
                                if data__dataset__test__numworkers < 0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.test.num_workers must be bigger than or equal to 0")
                        if "max_samples" in data__dataset__test_keys:
                            data__dataset__test_keys.remove("max_samples")
                            data__dataset__test__maxsamples = data__dataset__test["max_samples"]
                            if not isinstance(data__dataset__test__maxsamples, (int)) and not (isinstance(data__dataset__test__maxsamples, float) and data__dataset__test__maxsamples.is_integer()) or isinstance(data__dataset__test__maxsamples, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.test.max_samples must be integer")
                            if isinstance(data__dataset__test__maxsamples, (int, float, Decimal)) and not isinstance(data__dataset__test__maxsamples, bool):
                                if data__dataset__test__maxsamples < -1:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.test.max_samples must be bigger than or equal to -1")
                        if data__dataset__test_keys:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.test must not contain "+str(data__dataset__test_keys)+" properties")
                if "workers" in data__dataset_keys:
                    data__dataset_keys.remove("workers")
                    data__dataset__workers = data__dataset["workers"]
                    if not isinstance(data__dataset__workers, (int)) and not (isinstance(data__dataset__workers, float) and data__dataset__workers.is_integer()) or isinstance(data__dataset__workers, bool):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.workers must be integer")
                    if isinstance(data__dataset__workers, (int, float, Decimal)) and not isinstance(data__dataset__workers, bool):
                        if data__dataset__workers < 1:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.workers must be bigger than or equal to 1")
                if "pin_memory" in data__dataset_keys:
                    data__dataset_keys.remove("pin_memory")
                    data__dataset__pinmemory = data__dataset["pin_memory"]
                    if not isinstance(data__dataset__pinmemory, (bool)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.pin_memory must be boolean")
                if "augmentation" in data__dataset_keys:
                    data__dataset_keys.remove("augmentation")
                    data__dataset__augmentation = data__dataset["augmentation"]
                    if not isinstance(data__dataset__augmentation, (dict)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.augmentation must be object")
                    data__dataset__augmentation_is_dict = isinstance(data__dataset__augmentation, dict)
                    if data__dataset__augmentation_is_dict:
                        data__dataset__augmentation_keys = set(data__dataset__augmentation.keys())
                        if "train_min_size" in data__dataset__augmentation_keys:
                            data__dataset__augmentation_keys.remove("train_min_size")
                            data__dataset__augmentation__trainminsize = data__dataset__augmentation["train_min_size"]
                            if not isinstance(data__dataset__augmentation__trainminsize, (list, tuple)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.augmentation.train_min_size must be array")
                            data__dataset__augmentation__trainminsize_is_list = isinstance(data__dataset__augmentation__trainminsize, (list, tuple))
                            if data__dataset__augmentation__trainminsize_is_list:
                                data__dataset__augmentation__trainminsize_len = len(data__dataset__augmentation__trainminsize)
                                if data__dataset__augmentation__trainminsize_len < 1:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.augmentation.train_min_size must contain at least 1 items")
                                for data__dataset__augmentation__trainminsize_x, data__dataset__augmentation__trainminsize_item in enumerate(data__dataset__augmentation__trainminsize):
                                    if not isinstance(data__dataset__augmentation__trainminsize_item, (int)) and not (isinstance(data__dataset__augmentation__trainminsize_item, float) and data__dataset__augmentation__trainminsize_item.is_integer()) or isinstance(data__dataset__augmentation__trainminsize_item, bool):
                                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.augmentation.train_min_size[{data__dataset__augmentation__trainminsize_x}]".format(**locals()) + " must be integer")
                        if "train_max_size" in data__dataset__augmentation_keys:
                            data__dataset__augmentation_keys.remove("train_max_size")
                            data__dataset__augmentation__trainmaxsize = data__dataset__augmentation["train_max_size"]
                            if not isinstance(data__dataset__augmentation__trainmaxsize, (int)) and not (isinstance(data__dataset__augmentation__trainmaxsize, float) and data__dataset__augmentation__trainmaxsize.is_integer()) or isinstance(data__dataset__augmentation__trainmaxsize, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.augmentation.train_max_size must be integer")
                            if isinstance(data__dataset__augmentation__trainmaxsize, (int, float, Decimal)) and not isinstance(data__dataset__augmentation__trainmaxsize, bool):
                                if data__dataset__augmentation__trainmaxsize < 32:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.augmentation.train_max_size must be bigger than or equal to 32")
                                if data__dataset__augmentation__trainmaxsize > 960:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.augmentation.train_max_size must be smaller than or equal to 960")
                        if "train_crop_size" in data__dataset__augmentation_keys:
                            data__dataset__augmentation_keys.remove("train_crop_size")
                            data__dataset__augmentation__traincropsize = data__dataset__augmentation["train_crop_size"]
                            if not isinstance(data__dataset__augmentation__traincropsize, (list, tuple)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.augmentation.train_crop_size must be array")
                            data__dataset__augmentation__traincropsize_is_list = isinstance(data__dataset__augmentation__traincropsize, (list, tuple))
                            if data__dataset__augmentation__traincropsize_is_list:
                                data__dataset__augmentation__traincropsize_len = len(data__dataset__augmentation__traincropsize)
                                if data__dataset__augmentation__traincropsize_len < 2:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.augmentation.train_crop_size must contain at least 2 items")
                                if data__dataset__augmentation__traincropsize_len > 2:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.augmentation.train_crop_size must contain less than or equal to 2 items")
                                for data__dataset__augmentation__traincropsize_x, data__dataset__augmentation__traincropsize_item in enumerate(data__dataset__augmentation__traincropsize):
                                    if not isinstance(data__dataset__augmentation__traincropsize_item, (int)) and not (isinstance(data__dataset__augmentation__traincropsize_item, float) and data__dataset__augmentation__traincropsize_item.is_integer()) or isinstance(data__dataset__augmentation__traincropsize_item, bool):
                                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.augmentation.train_crop_size[{data__dataset__augmentation__traincropsize_x}]".format(**locals()) + " must be integer")
                        if "test_min_size" in data__dataset__augmentation_keys:
                            data__dataset__augmentation_keys.remove("test_min_size")
                            data__dataset__augmentation__testminsize = data__dataset__augmentation["test_min_size"]
                            if not isinstance(data__dataset__augmentation__testminsize, (int)) and not (isinstance(data__dataset__augmentation__testminsize, float) and data__dataset__augmentation__testminsize.is_integer()) or isinstance(data__dataset__augmentation__testminsize, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.augmentation.test_min_size must be integer")
                            if isinstance(data__dataset__augmentation__testminsize, (int, float, Decimal)) and not isinstance(data__dataset__augmentation__testminsize, bool):
                                if data__dataset__augmentation__testminsize < 32:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.augmentation.test_min_size must be bigger than or equal to 32")
                                if data__dataset__augmentation__testminsize > 960:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.augmentation.test_min_size must be smaller than or equal to 960")
                        if "test_max_size" in data__dataset__augmentation_keys:
                            data__dataset__augmentation_keys.remove("test_max_size")
                            data__dataset__augmentation__testmaxsize = data__dataset__augmentation["test_max_size"]
                            if not isinstance(data__dataset__augmentation__testmaxsize, (int)) and not (isinstance(data__dataset__augmentation__testmaxsize, float) and data__dataset__augmentation__testmaxsize.is_integer()) or isinstance(data__dataset__augmentation__testmaxsize, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.augmentation.test_max_size must be integer")
                            if isinstance(data__dataset__augmentation__testmaxsize, (int, float, Decimal)) and not isinstance(data__dataset__augmentation__testmaxsize, bool):
                                if data__dataset__augmentation__testmaxsize < 32:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.augmentation.test_max_size must be bigger than or equal to 32")
                                if data__dataset__augmentation__testmaxsize > 960:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.augmentation.test_max_size must be smaller than or equal to 960")
                        if "color_aug_ssd" in data__dataset__augmentation_keys:
                            data__dataset__augmentation_keys.remove("color_aug_ssd")
                            data__dataset__augmentation__coloraugssd = data__dataset__augmentation["color_aug_ssd"]
                            if not isinstance(data__dataset__augmentation__coloraugssd, (bool)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.augmentation.color_aug_ssd must be boolean")
                        if "enable_crop" in data__dataset__augmentation_keys:
                            data__dataset__augmentation_keys.remove("enable_crop")
                            data__dataset__augmentation__enablecrop = data__dataset__augmentation["enable_crop"]
                            if not isinstance(data__dataset__augmentation__enablecrop, (bool)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.augmentation.enable_crop must be boolean")
                        if "crop_size" in data__dataset__augmentation_keys:
                            data__dataset__augmentation_keys.remove("crop_size")
                            data__dataset__augmentation__cropsize = data__dataset__augmentation["crop_size"]
                            if not isinstance(data__dataset__augmentation__cropsize, (list, tuple)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.augmentation.crop_size must be array")
                            data__dataset__augmentation__cropsize_is_list = isinstance(data__dataset__augmentation__cropsize, (list, tuple))
                            if data__dataset__augmentation__cropsize_is_list:
                                data__dataset__augmentation__cropsize_len = len(data__dataset__augmentation__cropsize)
                                if data__dataset__augmentation__cropsize_len < 2:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.augmentation.crop_size must contain at least 2 items")
                                if data__dataset__augmentation__cropsize_len > 2:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.augmentation.crop_size must contain less than or equal to 2 items")
                                for data__dataset__augmentation__cropsize_x, data__dataset__augmentation__cropsize_item in enumerate(data__dataset__augmentation__cropsize):
                                    if not isinstance(data__dataset__augmentation__cropsize_item, (int)) and not (isinstance(data__dataset__augmentation__cropsize_item, float) and data__dataset__augmentation__cropsize_item.is_integer()) or isinstance(data__dataset__augmentation__cropsize_item, bool):
                                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.augmentation.crop_size[{data__dataset__augmentation__cropsize_x}]".format(**locals()) + " must be integer")
                        if "single_category_max_area" in data__dataset__augmentation_keys:
                            data__dataset__augmentation_keys.remove("single_category_max_area")
                            data__dataset__augmentation__singlecategorymaxarea = data__dataset__augmentation["single_category_max_area"]
                            if not isinstance(data__dataset__augmentation__singlecategorymaxarea, (int, float, Decimal)) or isinstance(data__dataset__augmentation__singlecategorymaxarea, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.augmentation.single_category_max_area must be number")
                            if isinstance(data__dataset__augmentation__singlecategorymaxarea, (int, float, Decimal)) and not isinstance(data__dataset__augmentation__singlecategorymaxarea, bool):
                                if data__dataset__augmentation__singlecategorymaxarea < 0.0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.augmentation.single_category_max_area must be bigger than or equal to 0.0")
                                if data__dataset__augmentation__singlecategorymaxarea > 1.0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.augmentation.single_category_max_area must be smaller than or equal to 1.0")
                        if "random_flip" in data__dataset__augmentation_keys:
                            data__dataset__augmentation_keys.remove("random_flip")
                            data__dataset__augmentation__randomflip = data__dataset__augmentation["random_flip"]
                            if not isinstance(data__dataset__augmentation__randomflip, (str)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.augmentation.random_flip must be string")
                            if not (isinstance(data__dataset__augmentation__randomflip, str) and data__dataset__augmentation__randomflip == '' or isinstance(data__dataset__augmentation__randomflip, str) and data__dataset__augmentation__randomflip == 'horizontal' or isinstance(data__dataset__augmentation__randomflip, str) and data__dataset__augmentation__randomflip == 'vertical' or isinstance(data__dataset__augmentation__randomflip, str) and data__dataset__augmentation__randomflip == 'none'):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.augmentation.random_flip must be one of ['', 'horizontal', 'vertical', 'none']")
                        if "random_flip_prob" in data__dataset__augmentation_keys:
                            data__dataset__augmentation_keys.remove("random_flip_prob")
                            data__dataset__augmentation__randomflipprob = data__dataset__augmentation["random_flip_prob"]
                            if not isinstance(data__dataset__augmentation__randomflipprob, (int, float, Decimal)) or isinstance(data__dataset__augmentation__randomflipprob, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.augmentation.random_flip_prob must be number")
                            if isinstance(data__dataset__augmentation__randomflipprob, (int, float, Decimal)) and not isinstance(data__dataset__augmentation__randomflipprob, bool):
                                if data__dataset__augmentation__randomflipprob < 0.0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.augmentation.random_flip_prob must be bigger than or equal to 0.0")
                                if data__dataset__augmentation__randomflipprob > 1.0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.augmentation.random_flip_prob must be smaller than or equal to 1.0")
                        if "size_divisibility" in data__dataset__augmentation_keys:
                            data__dataset__augmentation_keys.remove("size_divisibility")
                            data__dataset__augmentation__sizedivisibility = data__dataset__augmentation["size_divisibility"]
                            if not isinstance(data__dataset__augmentation__sizedivisibility, (int, float, Decimal)) or isinstance(data__dataset__augmentation__sizedivisibility, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.augmentation.size_divisibility must be number")
                            if isinstance(data__dataset__augmentation__sizedivisibility, (int, float, Decimal)) and not isinstance(data__dataset__augmentation__sizedivisibility, bool):
                                if data__dataset__augmentation__sizedivisibility < -1.0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.augmentation.size_divisibility must be bigger than or equal to -1.0")
                        if "gen_aug_weight" in data__dataset__augmentation_keys:
                            data__dataset__augmentation_keys.remove("gen_aug_weight")
                            data__dataset__augmentation__genaugweight = data__dataset__augmentation["gen_aug_weight"]
                            if not isinstance(data__dataset__augmentation__genaugweight, (int, float, Decimal)) or isinstance(data__dataset__augmentation__genaugweight, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.augmentation.gen_aug_weight must be number")
                            if isinstance(data__dataset__augmentation__genaugweight, (int, float, Decimal)) and not isinstance(data__dataset__augmentation__genaugweight, bool):
                                if data__dataset__augmentation__genaugweight < 0.0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.augmentation.gen_aug_weight must be bigger than or equal to 0.0")
                                if data__dataset__augmentation__genaugweight > 1.0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.augmentation.gen_aug_weight must be smaller than or equal to 1.0")
                        if data__dataset__augmentation_keys:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.augmentation must not contain "+str(data__dataset__augmentation_keys)+" properties")
                if "contiguous_id" in data__dataset_keys:
                    data__dataset_keys.remove("contiguous_id")
                    data__dataset__contiguousid = data__dataset["contiguous_id"]
                    if not isinstance(data__dataset__contiguousid, (bool)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.contiguous_id must be boolean")
                if "label_map" in data__dataset_keys:
                    data__dataset_keys.remove("label_map")
                    data__dataset__labelmap = data__dataset["label_map"]
                    if not isinstance(data__dataset__labelmap, (str)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.label_map must be string")
                if "name" in data__dataset_keys:
                    data__dataset_keys.remove("name")
                    data__dataset__name = data__dataset["name"]
                    if not isinstance(data__dataset__name, (str)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.name must be string")
                    if not (isinstance(data__dataset__name, str) and data__dataset__name == 'front3d' or isinstance(data__dataset__name, str) and data__dataset__name == 'matterport' or isinstance(data__dataset__name, str) and data__dataset__name == 'synthetic_hospital' or isinstance(data__dataset__name, str) and data__dataset__name == 'synthetic_warehouse'):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.name must be one of ['front3d', 'matterport', 'synthetic_hospital', 'synthetic_warehouse']")
                if "downsample_factor" in data__dataset_keys:
                    data__dataset_keys.remove("downsample_factor")
                    data__dataset__downsamplefactor = data__dataset["downsample_factor"]
                    if not isinstance(data__dataset__downsamplefactor, (int)) and not (isinstance(data__dataset__downsamplefactor, float) and data__dataset__downsamplefactor.is_integer()) or isinstance(data__dataset__downsamplefactor, bool):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.downsample_factor must be integer")
                    if isinstance(data__dataset__downsamplefactor, (int, float, Decimal)) and not isinstance(data__dataset__downsamplefactor, bool):
                        if data__dataset__downsamplefactor < 1:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.downsample_factor must be bigger than or equal to 1")
                        if data__dataset__downsamplefactor > 4:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.downsample_factor must be smaller than or equal to 4")
                if "iso_value" in data__dataset_keys:
                    data__dataset_keys.remove("iso_value")
                    data__dataset__isovalue = data__dataset["iso_value"]
                    if not isinstance(data__dataset__isovalue, (int, float, Decimal)) or isinstance(data__dataset__isovalue, bool):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.iso_value must be number")
                    if isinstance(data__dataset__isovalue, (int, float, Decimal)) and not isinstance(data__dataset__isovalue, bool):
                        if data__dataset__isovalue <= 0.0:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.iso_value must be bigger than 0.0")
                if "ignore_label" in data__dataset_keys:
                    data__dataset_keys.remove("ignore_label")
                    data__dataset__ignorelabel = data__dataset["ignore_label"]
                    if not isinstance(data__dataset__ignorelabel, (int)) and not (isinstance(data__dataset__ignorelabel, float) and data__dataset__ignorelabel.is_integer()) or isinstance(data__dataset__ignorelabel, bool):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.ignore_label must be integer")
                    if isinstance(data__dataset__ignorelabel, (int, float, Decimal)) and not isinstance(data__dataset__ignorelabel, bool):
                        if data__dataset__ignorelabel < 0:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.ignore_label must be bigger than or equal to 0")
                        if data__dataset__ignorelabel > 255:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.ignore_label must be smaller than or equal to 255")
                if "min_instance_pixels" in data__dataset_keys:
                    data__dataset_keys.remove("min_instance_pixels")
                    data__dataset__mininstancepixels = data__dataset["min_instance_pixels"]
                    if not isinstance(data__dataset__mininstancepixels, (int)) and not (isinstance(data__dataset__mininstancepixels, float) and data__dataset__mininstancepixels.is_integer()) or isinstance(data__dataset__mininstancepixels, bool):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.min_instance_pixels must be integer")
                    if isinstance(data__dataset__mininstancepixels, (int, float, Decimal)) and not isinstance(data__dataset__mininstancepixels, bool):
                        if data__dataset__mininstancepixels < 0:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.min_instance_pixels must be bigger than or equal to 0")
                if "img_format" in data__dataset_keys:
                    data__dataset_keys.remove("img_format")
                    data__dataset__imgformat = data__dataset["img_format"]
                    if not isinstance(data__dataset__imgformat, (str)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.img_format must be string")
                    if not (isinstance(data__dataset__imgformat, str) and data__dataset__imgformat == 'RGB' or isinstance(data__dataset__imgformat, str) and data__dataset__imgformat == 'BGR'):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.img_format must be one of ['RGB', 'BGR']")
                if "target_size" in data__dataset_keys:
                    data__dataset_keys.remove("target_size")
                    data__dataset__targetsize = data__dataset["target_size"]
                    if not isinstance(data__dataset__targetsize, (list, tuple)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.target_size must be array")
                    data__dataset__targetsize_is_list = isinstance(data__dataset__targetsize, (list, tuple))
                    if data__dataset__targetsize_is_list:
                        data__dataset__targetsize_len = len(data__dataset__targetsize)
                        if data__dataset__targetsize_len < 2:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.target_size must contain at least 2 items")
                        if data__dataset__targetsize_len > 2:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.target_size must contain less than or equal to 2 items")
                        for data__dataset__targetsize_x, data__dataset__targetsize_item in enumerate(data__dataset__targetsize):
                            if not isinstance(data__dataset__targetsize_item, (int)) and not (isinstance(data__dataset__targetsize_item, float) and data__dataset__targetsize_item.is_integer()) or isinstance(data__dataset__targetsize_item, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.target_size[{data__dataset__targetsize_x}]".format(**locals()) + " must be integer")
                if "reduced_target_size" in data__dataset_keys:
                    data__dataset_keys.remove("reduced_target_size")
                    data__dataset__reducedtargetsize = data__dataset["reduced_target_size"]
                    if not isinstance(data__dataset__reducedtargetsize, (list, tuple)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.reduced_target_size must be array")
                    data__dataset__reducedtargetsize_is_list = isinstance(data__dataset__reducedtargetsize, (list, tuple))
                    if data__dataset__reducedtargetsize_is_list:
                        data__dataset__reducedtargetsize_len = len(data__dataset__reducedtargetsize)
                        if data__dataset__reducedtargetsize_len < 2:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.reduced_target_size must contain at least 2 items")
                        if data__dataset__reducedtargetsize_len > 2:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.reduced_target_size must contain less than or equal to 2 items")
                        for data__dataset__reducedtargetsize_x, data__dataset__reducedtargetsize_item in enumerate(data__dataset__reducedtargetsize):
                            if not isinstance(data__dataset__reducedtargetsize_item, (int)) and not (isinstance(data__dataset__reducedtargetsize_item, float) and data__dataset__reducedtargetsize_item.is_integer()) or isinstance(data__dataset__reducedtargetsize_item, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.reduced_target_size[{data__dataset__reducedtargetsize_x}]".format(**locals()) + " must be integer")
                if "depth_size" in data__dataset_keys:
                    data__dataset_keys.remove("depth_size")
                    data__dataset__depthsize = data__dataset["depth_size"]
                    if not isinstance(data__dataset__depthsize, (list, tuple)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.depth_size must be array")
                    data__dataset__depthsize_is_list = isinstance(data__dataset__depthsize, (list, tuple))
                    if data__dataset__depthsize_is_list:
                        data__dataset__depthsize_len = len(data__dataset__depthsize)
                        if data__dataset__depthsize_len < 2:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.depth_size must contain at least 2 items")
                        if data__dataset__depthsize_len > 2:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.depth_size must contain less than or equal to 2 items")
                        for data__dataset__depthsize_x, data__dataset__depthsize_item in enumerate(data__dataset__depthsize):
                            if not isinstance(data__dataset__depthsize_item, (int)) and not (isinstance(data__dataset__depthsize_item, float) and data__dataset__depthsize_item.is_integer()) or isinstance(data__dataset__depthsize_item, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.depth_size[{data__dataset__depthsize_x}]".format(**locals()) + " must be integer")
                if "depth_bound" in data__dataset_keys:
                    data__dataset_keys.remove("depth_bound")
                    data__dataset__depthbound = data__dataset["depth_bound"]
                    if not isinstance(data__dataset__depthbound, (bool)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.depth_bound must be boolean")
                if "depth_min" in data__dataset_keys:
                    data__dataset_keys.remove("depth_min")
                    data__dataset__depthmin = data__dataset["depth_min"]
                    if not isinstance(data__dataset__depthmin, (int, float, Decimal)) or isinstance(data__dataset__depthmin, bool):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.depth_min must be number")
                    if isinstance(data__dataset__depthmin, (int, float, Decimal)) and not isinstance(data__dataset__depthmin, bool):
                        if data__dataset__depthmin < 0.0:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.depth_min must be bigger than or equal to 0.0")
                if "depth_max" in data__dataset_keys:
                    data__dataset_keys.remove("depth_max")
                    data__dataset__depthmax = data__dataset["depth_max"]
                    if not isinstance(data__dataset__depthmax, (int, float, Decimal)) or isinstance(data__dataset__depthmax, bool):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.depth_max must be number")
                    if isinstance(data__dataset__depthmax, (int, float, Decimal)) and not isinstance(data__dataset__depthmax, bool):
                        if data__dataset__depthmax <= 0.0:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.depth_max must be bigger than 0.0")
                if "frustum_mask_path" in data__dataset_keys:
                    data__dataset_keys.remove("frustum_mask_path")
                    data__dataset__frustummaskpath = data__dataset["frustum_mask_path"]
                    if not isinstance(data__dataset__frustummaskpath, (str)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.frustum_mask_path must be string")
                if "occ_truncation_lvl" in data__dataset_keys:
                    data__dataset_keys.remove("occ_truncation_lvl")
                    data__dataset__occtruncationlvl = data__dataset["occ_truncation_lvl"]
                    if not isinstance(data__dataset__occtruncationlvl, (list, tuple)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.occ_truncation_lvl must be array")
                    data__dataset__occtruncationlvl_is_list = isinstance(data__dataset__occtruncationlvl, (list, tuple))
                    if data__dataset__occtruncationlvl_is_list:
                        data__dataset__occtruncationlvl_len = len(data__dataset__occtruncationlvl)
                        if data__dataset__occtruncationlvl_len < 2:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.occ_truncation_lvl must contain at least 2 items")
                        if data__dataset__occtruncationlvl_len > 2:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.occ_truncation_lvl must contain less than or equal to 2 items")
                        for data__dataset__occtruncationlvl_x, data__dataset__occtruncationlvl_item in enumerate(data__dataset__occtruncationlvl):
                            if not isinstance(data__dataset__occtruncationlvl_item, (int, float, Decimal)) or isinstance(data__dataset__occtruncationlvl_item, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.occ_truncation_lvl[{data__dataset__occtruncationlvl_x}]".format(**locals()) + " must be number")
                if "truncation_range" in data__dataset_keys:
                    data__dataset_keys.remove("truncation_range")
                    data__dataset__truncationrange = data__dataset["truncation_range"]
                    if not isinstance(data__dataset__truncationrange, (list, tuple)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.truncation_range must be array")
                    data__dataset__truncationrange_is_list = isinstance(data__dataset__truncationrange, (list, tuple))
                    if data__dataset__truncationrange_is_list:
                        data__dataset__truncationrange_len = len(data__dataset__truncationrange)
                        if data__dataset__truncationrange_len < 2:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.truncation_range must contain at least 2 items")
                        if data__dataset__truncationrange_len > 2:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.truncation_range must contain less than or equal to 2 items")
                        for data__dataset__truncationrange_x, data__dataset__truncationrange_item in enumerate(data__dataset__truncationrange):
                            if not isinstance(data__dataset__truncationrange_item, (int, float, Decimal)) or isinstance(data__dataset__truncationrange_item, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.truncation_range[{data__dataset__truncationrange_x}]".format(**locals()) + " must be number")
                if "enable_3d" in data__dataset_keys:
                    data__dataset_keys.remove("enable_3d")
                    data__dataset__enable3d = data__dataset["enable_3d"]
                    if not isinstance(data__dataset__enable3d, (bool)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.enable_3d must be boolean")
                if "enable_mp_occ" in data__dataset_keys:
                    data__dataset_keys.remove("enable_mp_occ")
                    data__dataset__enablempocc = data__dataset["enable_mp_occ"]
                    if not isinstance(data__dataset__enablempocc, (bool)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.enable_mp_occ must be boolean")
                if "multiplane_target" in data__dataset_keys:
                    data__dataset_keys.remove("multiplane_target")
                    data__dataset__multiplanetarget = data__dataset["multiplane_target"]
                    if not isinstance(data__dataset__multiplanetarget, (str)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.multiplane_target must be string")
                    if not (isinstance(data__dataset__multiplanetarget, str) and data__dataset__multiplanetarget == 'nvidia' or isinstance(data__dataset__multiplanetarget, str) and data__dataset__multiplanetarget == 'surface'):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.multiplane_target must be one of ['nvidia', 'surface']")
                if "depth_scale" in data__dataset_keys:
                    data__dataset_keys.remove("depth_scale")
                    data__dataset__depthscale = data__dataset["depth_scale"]
                    if not isinstance(data__dataset__depthscale, (int, float, Decimal)) or isinstance(data__dataset__depthscale, bool):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.depth_scale must be number")
                    if isinstance(data__dataset__depthscale, (int, float, Decimal)) and not isinstance(data__dataset__depthscale, bool):
                        if data__dataset__depthscale <= 0.0:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.depth_scale must be bigger than 0.0")
                if "num_thing_classes" in data__dataset_keys:
                    data__dataset_keys.remove("num_thing_classes")
                    data__dataset__numthingclasses = data__dataset["num_thing_classes"]
                    if not isinstance(data__dataset__numthingclasses, (int)) and not (isinstance(data__dataset__numthingclasses, float) and data__dataset__numthingclasses.is_integer()) or isinstance(data__dataset__numthingclasses, bool):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.num_thing_classes must be integer")
                    if isinstance(data__dataset__numthingclasses, (int, float, Decimal)) and not isinstance(data__dataset__numthingclasses, bool):
                        if data__dataset__numthingclasses < 0:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset.num_thing_classes must be bigger than or equal to 0")
                if data__dataset_keys:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".dataset must not contain "+str(data__dataset_keys)+" properties")
        if "train" in data_keys:
            data_keys.remove("train")
            data__train = data["train"]
            if not isinstance(data__train, (dict)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".train must be object")
            data__train_is_dict = isinstance(data__train, dict)
            if data__train_is_dict:
                data__train_keys = set(data__train.keys())
                if "num_gpus" in data__train_keys:
                    data__train_keys.remove("num_gpus")
                    data__train__numgpus = data__train["num_gpus"]
                    if not isinstance(data__train__numgpus, (int)) and not (isinstance(data__train__numgpus, float) and data__train__numgpus.is_integer()) or isinstance(data__train__numgpus, bool):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.num_gpus must be integer")
                    if isinstance(data__train__numgpus, (int, float, Decimal)) and not isinstance(data__train__numgpus, bool):
                        if data__train__numgpus < 1:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.num_gpus must be bigger than or equal to 1")
                if "gpu_ids" in data__train_keys:
                    data__train_keys.remove("gpu_ids")
                    data__train__gpuids = data__train["gpu_ids"]
                    if not isinstance(data__train__gpuids, (list, tuple)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.gpu_ids must be array")
                    data__train__gpuids_is_list = isinstance(data__train__gpuids, (list, tuple))
                    if data__train__gpuids_is_list:
                        data__train__gpuids_len = len(data__train__gpuids)
                        if data__train__gpuids_len < 1:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.gpu_ids must contain at least 1 items")
                        for data__train__gpuids_x, data__train__gpuids_item in enumerate(data__train__gpuids):
                            if not isinstance(data__train__gpuids_item, (int)) and not (isinstance(data__train__gpuids_item, float) and data__train__gpuids_item.is_integer()) or isinstance(data__train__gpuids_item, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.gpu_ids[{data__train__gpuids_x}]".format(**locals()) + " must be integer")
                if "num_nodes" in data__train_keys:
                    data__train_keys.remove("num_nodes")
                    data__train__numnodes = data__train["num_nodes"]
                    if not isinstance(data__train__numnodes, (int)) and not (isinstance(data__train__numnodes, float) and data__train__numnodes.is_integer()) or isinstance(data__train__numnodes, bool):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.num_nodes must be integer")
                    if isinstance(data__train__numnodes, (int, float, Decimal)) and not isinstance(data__train__numnodes, bool):
                        if data__train__numnodes < 1:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.num_nodes must be bigger than or equal to 1")
                if "seed" in data__train_keys:
                    data__train_keys.remove("seed")
                    data__train__seed = data__train["seed"]
                    if not isinstance(data__train__seed, (int)) and not (isinstance(data__train__seed, float) and data__train__seed.is_integer()) or isinstance(data__train__seed, bool):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.seed must be integer")
                    if isinstance(data__train__seed, (int, float, Decimal)) and not isinstance(data__train__seed, bool):
                        if data__train__seed < -1:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.seed must be bigger than or equal to -1")
                if "cudnn" in data__train_keys:
                    data__train_keys.remove("cudnn")
                    data__train__cudnn = data__train["cudnn"]
                    if not isinstance(data__train__cudnn, (dict)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.cudnn must be object")
                    data__train__cudnn_is_dict = isinstance(data__train__cudnn, dict)
                    if data__train__cudnn_is_dict:
                        data__train__cudnn_keys = set(data__train__cudnn.keys())
                        if "benchmark" in data__train__cudnn_keys:
                            data__train__cudnn_keys.remove("benchmark")
                            data__train__cudnn__benchmark = data__train__cudnn["benchmark"]
                            if not isinstance(data__train__cudnn__benchmark, (bool)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.cudnn.benchmark must be boolean")
                        if "deterministic" in data__train__cudnn_keys:
                            data__train__cudnn_keys.remove("deterministic")
                            data__train__cudnn__deterministic = data__train__cudnn["deterministic"]
                            if not isinstance(data__train__cudnn__deterministic, (bool)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.cudnn.deterministic must be boolean")
                        if data__train__cudnn_keys:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.cudnn must not contain "+str(data__train__cudnn_keys)+" properties")
                if "num_epochs" in data__train_keys:
                    data__train_keys.remove("num_epochs")
                    data__train__numepochs = data__train["num_epochs"]
                    if not isinstance(data__train__numepochs, (int)) and not (isinstance(data__train__numepochs, float) and data__train__numepochs.is_integer()) or isinstance(data__train__numepochs, bool):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.num_epochs must be integer")
                    if isinstance(data__train__numepochs, (int, float, Decimal)) and not isinstance(data__train__numepochs, bool):
                        if data__train__numepochs < 1:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.num_epochs must be bigger than or equal to 1")
                if "checkpoint_interval" in data__train_keys:
                    data__train_keys.remove("checkpoint_interval")
                    data__train__checkpointinterval = data__train["checkpoint_interval"]
                    if not isinstance(data__train__checkpointinterval, (int)) and not (isinstance(data__train__checkpointinterval, float) and data__train__checkpointinterval.is_integer()) or isinstance(data__train__checkpointinterval, bool):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.checkpoint_interval must be integer")
                    if isinstance(data__train__checkpointinterval, (int, float, Decimal)) and not isinstance(data__train__checkpointinterval, bool):
                        if data__train__checkpointinterval < 1:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.checkpoint_interval must be bigger than or equal to 1")
                if "checkpoint_interval_unit" in data__train_keys:
                    data__train_keys.remove("checkpoint_interval_unit")
                    data__train__checkpointintervalunit = data__train["checkpoint_interval_unit"]
                    if not isinstance(data__train__checkpointintervalunit, (str)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.checkpoint_interval_unit must be string")
                    if not (isinstance(data__train__checkpointintervalunit, str) and data__train__checkpointintervalunit == 'epoch' or isinstance(data__train__checkpointintervalunit, str) and data__train__checkpointintervalunit == 'step'):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.checkpoint_interval_unit must be one of ['epoch', 'step']")
                if "validation_interval" in data__train_keys:
                    data__train_keys.remove("validation_interval")
                    data__train__validationinterval = data__train["validation_interval"]
                    if not isinstance(data__train__validationinterval, (int)) and not (isinstance(data__train__validationinterval, float) and data__train__validationinterval.is_integer()) or isinstance(data__train__validationinterval, bool):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.validation_interval must be integer")
                    if isinstance(data__train__validationinterval, (int, float, Decimal)) and not isinstance(data__train__validationinterval, bool):
                        if data__train__validationinterval < 1:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.validation_interval must be bigger than or equal to 1")
                if "resume_training_checkpoint_path" in data__train_keys:
                    data__train_keys.remove("resume_training_checkpoint_path")
                    data__train__resumetrainingcheckpointpath = data__train["resume_training_checkpoint_path"]
                    if not isinstance(data__train__resumetrainingcheckpointpath, (str, NoneType)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.resume_training_checkpoint_path must be string or null")
                if "results_dir" in data__train_keys:
                    data__train_keys.remove("results_dir")
                    data__train__resultsdir = data__train["results_dir"]
                    if not isinstance(data__train__resultsdir, (str, NoneType)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.results_dir must be string or null")
                if "checkpoint_2d" in data__train_keys:
                    data__train_keys.remove("checkpoint_2d")
                    data__train__checkpoint2d = data__train["checkpoint_2d"]
                    if not isinstance(data__train__checkpoint2d, (str)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.checkpoint_2d must be string")
                if "checkpoint_3d" in data__train_keys:
                    data__train_keys.remove("checkpoint_3d")
                    data__train__checkpoint3d = data__train["checkpoint_3d"]
                    if not isinstance(data__train__checkpoint3d, (str)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.checkpoint_3d must be string")
                if "val_check_interval" in data__train_keys:
                    data__train_keys.remove("val_check_interval")
                    data__train__valcheckinterval = data__train["val_check_interval"]
                    if not isinstance(data__train__valcheckinterval, (int)) and not (isinstance(data__train__valcheckinterval, float) and data__train__valcheckinterval.is_integer()) or isinstance(data__train__valcheckinterval, bool):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.val_check_interval must be integer")
                    if isinstance(data__train__valcheckinterval, (int, float, Decimal)) and not isinstance(data__train__valcheckinterval, bool):
                        if data__train__valcheckinterval < 1:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.val_check_interval must be bigger than or equal to 1")
                if "freeze" in data__train_keys:
                    data__train_keys.remove("freeze")
                    data__train__freeze = data__train["freeze"]
                    if not isinstance(data__train__freeze, (list, tuple, NoneType)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.freeze must be array or null")
                    data__train__freeze_is_list = isinstance(data__train__freeze, (list, tuple))
                    if data__train__freeze_is_list:
                        data__train__freeze_len = len(data__train__freeze)
                        for data__train__freeze_x, data__train__freeze_item in enumerate(data__train__freeze):
                            if not isinstance(data__train__freeze_item, (str)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.freeze[{data__train__freeze_x}]".format(**locals()) + " must be string")
                if "clip_grad_norm" in data__train_keys:
                    data__train_keys.remove("clip_grad_norm")
                    data__train__clipgradnorm = data__train["clip_grad_norm"]
                    if not isinstance(data__train__clipgradnorm, (int, float, Decimal)) or isinstance(data__train__clipgradnorm, bool):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.clip_grad_norm must be number")
                    if isinstance(data__train__clipgradnorm, (int, float, Decimal)) and not isinstance(data__train__clipgradnorm, bool):
                        if data__train__clipgradnorm < 0.0:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.clip_grad_norm must be bigger than or equal to 0.0")
                if "clip_grad_norm_type" in data__train_keys:
                    data__train_keys.remove("clip_grad_norm_type")
                    data__train__clipgradnormtype = data__train["clip_grad_norm_type"]
                    if not isinstance(data__train__clipgradnormtype, (int, float, Decimal)) or isinstance(data__train__clipgradnormtype, bool):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.clip_grad_norm_type must be number")
                    if isinstance(data__train__clipgradnormtype, (int, float, Decimal)) and not isinstance(data__train__clipgradnormtype, bool):
                        if data__train__clipgradnormtype <= 0.0:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.clip_grad_norm_type must be bigger than 0.0")
                if "clip_grad_type" in data__train_keys:
                    data__train_keys.remove("clip_grad_type")
                    data__train__clipgradtype = data__train["clip_grad_type"]
                    if not isinstance(data__train__clipgradtype, (str)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.clip_grad_type must be string")
                    if not (isinstance(data__train__clipgradtype, str) and data__train__clipgradtype == 'full' or isinstance(data__train__clipgradtype, str) and data__train__clipgradtype == 'norm' or isinstance(data__train__clipgradtype, str) and data__train__clipgradtype == 'value'):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.clip_grad_type must be one of ['full', 'norm', 'value']")
                if "is_dry_run" in data__train_keys:
                    data__train_keys.remove("is_dry_run")
                    data__train__isdryrun = data__train["is_dry_run"]
                    if not isinstance(data__train__isdryrun, (bool)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.is_dry_run must be boolean")
                if "precision" in data__train_keys:
                    data__train_keys.remove("precision")
                    data__train__precision = data__train["precision"]
                    if not isinstance(data__train__precision, (str)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.precision must be string")
                    if not (isinstance(data__train__precision, str) and data__train__precision == 'fp32' or isinstance(data__train__precision, str) and data__train__precision == 'fp16' or isinstance(data__train__precision, str) and data__train__precision == 'bf16'):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.precision must be one of ['fp32', 'fp16', 'bf16']")
                if "distributed_strategy" in data__train_keys:
                    data__train_keys.remove("distributed_strategy")
                    data__train__distributedstrategy = data__train["distributed_strategy"]
                    if not isinstance(data__train__distributedstrategy, (str)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.distributed_strategy must be string")
                    if not (isinstance(data__train__distributedstrategy, str) and data__train__distributedstrategy == 'ddp' or isinstance(data__train__distributedstrategy, str) and data__train__distributedstrategy == 'fsdp'):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.distributed_strategy must be one of ['ddp', 'fsdp']")
                if "activation_checkpoint" in data__train_keys:
                    data__train_keys.remove("activation_checkpoint")
                    data__train__activationcheckpoint = data__train["activation_checkpoint"]
                    if not isinstance(data__train__activationcheckpoint, (bool)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.activation_checkpoint must be boolean")
                if "verbose" in data__train_keys:
                    data__train_keys.remove("verbose")
                    data__train__verbose = data__train["verbose"]
                    if not isinstance(data__train__verbose, (bool)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.verbose must be boolean")
                if "iters_per_epoch" in data__train_keys:
                    data__train_keys.remove("iters_per_epoch")
                    data__train__itersperepoch = data__train["iters_per_epoch"]
                    if not isinstance(data__train__itersperepoch, (int, NoneType)) and not (isinstance(data__train__itersperepoch, float) and data__train__itersperepoch.is_integer()) or isinstance(data__train__itersperepoch, bool):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.iters_per_epoch must be integer or null")
                    if isinstance(data__train__itersperepoch, (int, float, Decimal)) and not isinstance(data__train__itersperepoch, bool):
                        if data__train__itersperepoch < -1:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.iters_per_epoch must be bigger than or equal to -1")
                if "optim" in data__train_keys:
                    data__train_keys.remove("optim")
                    data__train__optim = data__train["optim"]
                    if not isinstance(data__train__optim, (dict)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.optim must be object")
                    data__train__optim_is_dict = isinstance(data__train__optim, dict)
                    if data__train__optim_is_dict:
                        data__train__optim_keys = set(data__train__optim.keys())
                        if "type" in data__train__optim_keys:
                            data__train__optim_keys.remove("type")
                            data__train__optim__type = data__train__optim["type"]
                            if not isinstance(data__train__optim__type, (str)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.optim.type must be string")
                            if not (isinstance(data__train__optim__type, str) and data__train__optim__type == 'AdamW'):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.optim.type must be one of ['AdamW']")
                        if "monitor_name" in data__train__optim_keys:
                            data__train__optim_keys.remove("monitor_name")
                            data__train__optim__monitorname = data__train__optim["monitor_name"]
                            if not isinstance(data__train__optim__monitorname, (str)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.optim.monitor_name must be string")
                            if not (isinstance(data__train__optim__monitorname, str) and data__train__optim__monitorname == 'val_loss' or isinstance(data__train__optim__monitorname, str) and data__train__optim__monitorname == 'train_loss' or isinstance(data__train__optim__monitorname, str) and data__train__optim__monitorname == 'PRQ' or isinstance(data__train__optim__monitorname, str) and data__train__optim__monitorname == 'RSQ' or isinstance(data__train__optim__monitorname, str) and data__train__optim__monitorname == 'RRQ' or isinstance(data__train__optim__monitorname, str) and data__train__optim__monitorname == 'PQ'):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.optim.monitor_name must be one of ['val_loss', 'train_loss', 'PRQ', 'RSQ', 'RRQ', 'PQ']")
                        if "lr" in data__train__optim_keys:
                            data__train__optim_keys.remove("lr")
                            data__train__optim__lr = data__train__optim["lr"]
                            if not isinstance(data__train__optim__lr, (int, float, Decimal)) or isinstance(data__train__optim__lr, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.optim.lr must be number")
                            if isinstance(data__train__optim__lr, (int, float, Decimal)) and not isinstance(data__train__optim__lr, bool):
                                if data__train__optim__lr < 1e-06:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.optim.lr must be bigger than or equal to 1e-06")
                                if data__train__optim__lr > 0.01:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.optim.lr must be smaller than or equal to 0.01")
                        if "backbone_multiplier" in data__train__optim_keys:
                            data__train__optim_keys.remove("backbone_multiplier")
                            data__train__optim__backbonemultiplier = data__train__optim["backbone_multiplier"]
                            if not isinstance(data__train__optim__backbonemultiplier, (int, float, Decimal)) or isinstance(data__train__optim__backbonemultiplier, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.optim.backbone_multiplier must be number")
                            if isinstance(data__train__optim__backbonemultiplier, (int, float, Decimal)) and not isinstance(data__train__optim__backbonemultiplier, bool):
                                if data__train__optim__backbonemultiplier < 0.01:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.optim.backbone_multiplier must be bigger than or equal to 0.01")
                                if data__train__optim__backbonemultiplier > 1.0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.optim.backbone_multiplier must be smaller than or equal to 1.0")
                        if "momentum" in data__train__optim_keys:
                            data__train__optim_keys.remove("momentum")
                            data__train__optim__momentum = data__train__optim["momentum"]
                            if not isinstance(data__train__optim__momentum, (int, float, Decimal)) or isinstance(data__train__optim__momentum, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.optim.momentum must be number")
                            if isinstance(data__train__optim__momentum, (int, float, Decimal)) and not isinstance(data__train__optim__momentum, bool):
                                if data__train__optim__momentum < 0.5:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.optim.momentum must be bigger than or equal to 0.5")
                                if data__train__optim__momentum > 0.999:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.optim.momentum must be smaller than or equal to 0.999")
                        if "weight_decay" in data__train__optim_keys:
                            data__train__optim_keys.remove("weight_decay")
                            data__train__optim__weightdecay = data__train__optim["weight_decay"]
                            if not isinstance(data__train__optim__weightdecay, (int, float, Decimal)) or isinstance(data__train__optim__weightdecay, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.optim.weight_decay must be number")
                            if isinstance(data__train__optim__weightdecay, (int, float, Decimal)) and not isinstance(data__train__optim__weightdecay, bool):
                                if data__train__optim__weightdecay < 0.0001:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.optim.weight_decay must be bigger than or equal to 0.0001")
                                if data__train__optim__weightdecay > 0.5:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.optim.weight_decay must be smaller than or equal to 0.5")
                        if "lr_scheduler" in data__train__optim_keys:
                            data__train__optim_keys.remove("lr_scheduler")
                            data__train__optim__lrscheduler = data__train__optim["lr_scheduler"]
                            if not isinstance(data__train__optim__lrscheduler, (str)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.optim.lr_scheduler must be string")
                            if not (isinstance(data__train__optim__lrscheduler, str) and data__train__optim__lrscheduler == 'MultiStep' or isinstance(data__train__optim__lrscheduler, str) and data__train__optim__lrscheduler == 'Warmuppoly' or isinstance(data__train__optim__lrscheduler, str) and data__train__optim__lrscheduler == 'WarmupPoly'):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.optim.lr_scheduler must be one of ['MultiStep', 'Warmuppoly', 'WarmupPoly']")
                        if "milestones" in data__train__optim_keys:
                            data__train__optim_keys.remove("milestones")
                            data__train__optim__milestones = data__train__optim["milestones"]
                            if not isinstance(data__train__optim__milestones, (list, tuple)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.optim.milestones must be array")
                            data__train__optim__milestones_is_list = isinstance(data__train__optim__milestones, (list, tuple))
                            if data__train__optim__milestones_is_list:
                                data__train__optim__milestones_len = len(data__train__optim__milestones)
                                for data__train__optim__milestones_x, data__train__optim__milestones_item in enumerate(data__train__optim__milestones):
                                    if not isinstance(data__train__optim__milestones_item, (int)) and not (isinstance(data__train__optim__milestones_item, float) and data__train__optim__milestones_item.is_integer()) or isinstance(data__train__optim__milestones_item, bool):
                                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.optim.milestones[{data__train__optim__milestones_x}]".format(**locals()) + " must be integer")
                        if "gamma" in data__train__optim_keys:
                            data__train__optim_keys.remove("gamma")
                            data__train__optim__gamma = data__train__optim["gamma"]
                            if not isinstance(data__train__optim__gamma, (int, float, Decimal)) or isinstance(data__train__optim__gamma, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.optim.gamma must be number")
                            if isinstance(data__train__optim__gamma, (int, float, Decimal)) and not isinstance(data__train__optim__gamma, bool):
                                if data__train__optim__gamma > 1.0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.optim.gamma must be smaller than or equal to 1.0")
                                if data__train__optim__gamma <= 0.0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.optim.gamma must be bigger than 0.0")
                        if "max_steps" in data__train__optim_keys:
                            data__train__optim_keys.remove("max_steps")
                            data__train__optim__maxsteps = data__train__optim["max_steps"]
                            if not isinstance(data__train__optim__maxsteps, (int)) and not (isinstance(data__train__optim__maxsteps, float) and data__train__optim__maxsteps.is_integer()) or isinstance(data__train__optim__maxsteps, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.optim.max_steps must be integer")
                            if isinstance(data__train__optim__maxsteps, (int, float, Decimal)) and not isinstance(data__train__optim__maxsteps, bool):
                                if data__train__optim__maxsteps < 1:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.optim.max_steps must be bigger than or equal to 1")
                        if "warmup_factor" in data__train__optim_keys:
                            data__train__optim_keys.remove("warmup_factor")
                            data__train__optim__warmupfactor = data__train__optim["warmup_factor"]
                            if not isinstance(data__train__optim__warmupfactor, (int, float, Decimal)) or isinstance(data__train__optim__warmupfactor, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.optim.warmup_factor must be number")
                            if isinstance(data__train__optim__warmupfactor, (int, float, Decimal)) and not isinstance(data__train__optim__warmupfactor, bool):
                                if data__train__optim__warmupfactor > 1.0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.optim.warmup_factor must be smaller than or equal to 1.0")
                                if data__train__optim__warmupfactor <= 0.0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.optim.warmup_factor must be bigger than 0.0")
                        if "warmup_iters" in data__train__optim_keys:
                            data__train__optim_keys.remove("warmup_iters")
                            data__train__optim__warmupiters = data__train__optim["warmup_iters"]
                            if not isinstance(data__train__optim__warmupiters, (int)) and not (isinstance(data__train__optim__warmupiters, float) and data__train__optim__warmupiters.is_integer()) or isinstance(data__train__optim__warmupiters, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.optim.warmup_iters must be integer")
                            if isinstance(data__train__optim__warmupiters, (int, float, Decimal)) and not isinstance(data__train__optim__warmupiters, bool):
                                if data__train__optim__warmupiters < 0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.optim.warmup_iters must be bigger than or equal to 0")
                        if data__train__optim_keys:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".train.optim must not contain "+str(data__train__optim_keys)+" properties")
                if data__train_keys:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".train must not contain "+str(data__train_keys)+" properties")
        if "inference" in data_keys:
            data_keys.remove("inference")
            data__inference = data["inference"]
            if not isinstance(data__inference, (dict)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".inference must be object")
            data__inference_is_dict = isinstance(data__inference, dict)
            if data__inference_is_dict:
                data__inference_keys = set(data__inference.keys())
                if "trt_engine" in data__inference_keys:
                    data__inference_keys.remove("trt_engine")
                    data__inference__trtengine = data__inference["trt_engine"]
                    if not isinstance(data__inference__trtengine, (str, NoneType)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".inference.trt_engine must be string or null")
                if "onnx_file_2d" in data__inference_keys:
                    data__inference_keys.remove("onnx_file_2d")
                    data__inference__onnxfile2d = data__inference["onnx_file_2d"]
                    if not isinstance(data__inference__onnxfile2d, (str)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".inference.onnx_file_2d must be string")
                if "onnx_file_3d" in data__inference_keys:
                    data__inference_keys.remove("onnx_file_3d")
                    data__inference__onnxfile3d = data__inference["onnx_file_3d"]
                    if not isinstance(data__inference__onnxfile3d, (str)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".inference.onnx_file_3d must be string")
                if "num_gpus" in data__inference_keys:
                    data__inference_keys.remove("num_gpus")
                    data__inference__numgpus = data__inference["num_gpus"]
                    if not isinstance(data__inference__numgpus, (int)) and not (isinstance(data__inference__numgpus, float) and data__inference__numgpus.is_integer()) or isinstance(data__inference__numgpus, bool):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".inference.num_gpus must be integer")
                    if isinstance(data__inference__numgpus, (int, float, Decimal)) and not isinstance(data__inference__numgpus, bool):
                        if data__inference__numgpus < 1:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".inference.num_gpus must be bigger than or equal to 1")
                if "gpu_ids" in data__inference_keys:
                    data__inference_keys.remove("gpu_ids")
                    data__inference__gpuids = data__inference["gpu_ids"]
                    if not isinstance(data__inference__gpuids, (list, tuple)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".inference.gpu_ids must be array")
                    data__inference__gpuids_is_list = isinstance(data__inference__gpuids, (list, tuple))
                    if data__inference__gpuids_is_list:
                        data__inference__gpuids_len = len(data__inference__gpuids)
                        if data__inference__gpuids_len < 1:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".inference.gpu_ids must contain at least 1 items")
                        for data__inference__gpuids_x, data__inference__gpuids_item in enumerate(data__inference__gpuids):
                            if not isinstance(data__inference__gpuids_item, (int)) and not (isinstance(data__inference__gpuids_item, float) and data__inference__gpuids_item.is_integer()) or isinstance(data__inference__gpuids_item, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".inference.gpu_ids[{data__inference__gpuids_x}]".format(**locals()) + " must be integer")
                if "num_nodes" in data__inference_keys:
                    data__inference_keys.remove("num_nodes")
                    data__inference__numnodes = data__inference["num_nodes"]
                    if not isinstance(data__inference__numnodes, (int)) and not (isinstance(data__inference__numnodes, float) and data__inference__numnodes.is_integer()) or isinstance(data__inference__numnodes, bool):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".inference.num_nodes must be integer")
                    if isinstance(data__inference__numnodes, (int, float, Decimal)) and not isinstance(data__inference__numnodes, bool):
                        if data__inference__numnodes < 1:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".inference.num_nodes must be bigger than or equal to 1")
                if "checkpoint" in data__inference_keys:
                    data__inference_keys.remove("checkpoint")
                    data__inference__checkpoint = data__inference["checkpoint"]
                    if not isinstance(data__inference__checkpoint, (str)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".inference.checkpoint must be string")
                if "results_dir" in data__inference_keys:
                    data__inference_keys.remove("results_dir")
                    data__inference__resultsdir = data__inference["results_dir"]
                    if not isinstance(data__inference__resultsdir, (str, NoneType)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".inference.results_dir must be string or null")
                if "batch_size" in data__inference_keys:
                    data__inference_keys.remove("batch_size")
                    data__inference__batchsize = data__inference["batch_size"]
                    if not isinstance(data__inference__batchsize, (int)) and not (isinstance(data__inference__batchsize, float) and data__inference__batchsize.is_integer()) or isinstance(data__inference__batchsize, bool):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".inference.batch_size must be integer")
                    if isinstance(data__inference__batchsize, (int, float, Decimal)) and not isinstance(data__inference__batchsize, bool):
                        if data__inference__batchsize < -1:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".inference.batch_size must be bigger than or equal to -1")
                if "mode" in data__inference_keys:
                    data__inference_keys.remove("mode")
                    data__inference__mode = data__inference["mode"]
                    if not isinstance(data__inference__mode, (str)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".inference.mode must be string")
                    if not (isinstance(data__inference__mode, str) and data__inference__mode == 'semantic' or isinstance(data__inference__mode, str) and data__inference__mode == 'instance' or isinstance(data__inference__mode, str) and data__inference__mode == 'panoptic'):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".inference.mode must be one of ['semantic', 'instance', 'panoptic']")
                if "images_dir" in data__inference_keys:
                    data__inference_keys.remove("images_dir")
                    data__inference__imagesdir = data__inference["images_dir"]
                    if not isinstance(data__inference__imagesdir, (str)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".inference.images_dir must be string")
                if data__inference_keys:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".inference must not contain "+str(data__inference_keys)+" properties")
        if data_keys:
            raise JsonSchemaValueException("" + (name_prefix or "data") + " must not contain "+str(data_keys)+" properties")
    return data


validate = validate_https___tao_skill_bank_invalid_nvpanoptix3d_inference_schema_json
