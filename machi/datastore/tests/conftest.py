from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User

from machi.accounts.models import Department
from machi.catalog.models import Dataset
from machi.datastore import services
from machi.datastore.models import Table

NURSERIES = """\
名称,種別,定員,開設日,駐車場,緯度,経度,備考
本駒込保育園,認可保育所,120,1975-04-01,true,35.7301,139.7532,
湯島あおぞら保育園,認可保育所,60,2018-04-01,false,35.7072,139.7689,駅から徒歩3分
千石こども園,認定こども園,150,2010-10-01,true,35.7275,139.7409,
目白台保育室,小規模保育事業,19,2021-04-01,false,35.7160,139.7190,"定員は0歳児含む"
白山ひまわり幼稚園,幼稚園,200,1962-04-01,true,35.7210,139.7510,
小石川学童クラブ,学童保育,40,,false,35.7180,139.7440,定員は年度ごとに変わる
"""


@pytest.fixture
def load_csv(site_admin: User, make_dataset: Callable[..., Dataset]) -> Callable[..., Table]:
    """A dataset with one CSV resource, loaded into the datastore."""

    def load(department: Department, name: str, csv: str, **fields: Any) -> Table:
        dataset = make_dataset(department, name, name, csv=csv, **fields)
        version = dataset.resources.get().current
        return services.load_version_file(actor=site_admin, version=version)

    return load


@pytest.fixture
def nurseries(load_csv: Callable[..., Table], kikaku: Department) -> Table:
    return load_csv(kikaku, "nurseries", NURSERIES)
