from machi.ask.privacy import mask


def test_phone_numbers_mail_addresses_and_my_number_are_masked() -> None:
    assert mask("090-1234-5678に電話ください") == "［電話番号］に電話ください"
    assert mask("０３－３８１２－７１１１") == "［電話番号］"
    assert mask("連絡はtaro.yamada@example.jpへ") == "連絡は［メール］へ"
    assert mask("番号は1234 5678 9012です") == "番号は［番号］です"


def test_names_are_masked_but_bunkyo_places_are_kept() -> None:
    assert mask("山田花子です。住民票がほしい") == "［氏名］です。住民票がほしい"
    assert mask("鈴木さんに聞いた") == "［氏名］さんに聞いた"
    assert mask("大塚駅の近くのAEDは？") == "大塚駅の近くのAEDは？"
    assert mask("向丘の保育園") == "向丘の保育園"


def test_dates_and_amounts_are_not_personal() -> None:
    assert mask("2024年4月1日から300円") == "2024年4月1日から300円"
