from tests.support import build_village


async def test_me_and_tree(api, session, settings):
    v = await build_village(session, settings, "青山村")
    token = api.token_for(v.admin)
    data = await api.data(
        """query { me { user { displayName } appointments { role title unit { name } } }
           orgUnits { edges { node { name kind children { edges { node { name level { name } } } } } } } }""",
        token=token,
    )
    assert data["me"]["appointments"][0]["role"] == "VILLAGE_ADMIN"
    assert data["orgUnits"]["edges"][0]["node"]["name"] == "青山村"
