"""The case table: rules against texts in Ukrainian, Russian and English.

Rows of kind "form" are inflected forms a rule must find: the test prints the share found and
requires every one (a matcher that keeps only the first dictionary reading of a word misses
some). Rows of kind "near" are words that merely share letters with the rule: none may match.
Rows of kind "exact" (negation, phrases, sources, exact forms, ...) must come out as listed,
every one.
"""

from __future__ import annotations

import pytest

from bot.matching import Matcher, analyze, match_rule, parse_rule

FORM, NEAR, EXACT = "form", "near", "exact"

# (rule, text, channel, expected, kind). Every sentence here is made up for the tests.
CASES: list[tuple[str, str, str, bool, str]] = [
    # --- Ukrainian nouns: every case, singular and plural ---------------------------------
    ("обмін", "Обмін відбувся на кордоні.", "", True, FORM),
    ("обмін", "Підготовка обміну триває.", "", True, FORM),
    ("обмін", "Ми готові до обміну вже завтра.", "", True, FORM),
    ("обмін", "Сторони домовилися про обмін.", "", True, FORM),
    ("обмін", "Переговори завершилися обміном.", "", True, FORM),
    ("обмін", "Йдеться про нові обміни.", "", True, FORM),
    ("обмін", "Кількість обмінів зросла.", "", True, FORM),
    ("обмін", "Новини в обміні списками.", "", True, FORM),
    ("полонений", "Полонені повернулися додому.", "", True, FORM),
    ("полонений", "Списки полонених уже передали.", "", True, FORM),
    ("полонений", "Допомогу надали полоненим.", "", True, FORM),
    ("полонений", "Обміняли полоненими вперше за місяць.", "", True, FORM),
    ("полонений", "Полонений розповів про умови.", "", True, FORM),
    ("полонений", "Родина полоненого чекає новин.", "", True, FORM),
    ("полонений", "Лист передали полоненому.", "", True, FORM),
    ("обмін полоненими", "Відбувся обмін полоненими.", "", True, FORM),
    ("обмін полоненими", "Після обміну полонених родини зустрілися.", "", True, FORM),
    ("обмін полоненими", "Полонених повернуть під час наступного обміну.", "", True, FORM),
    ("ракета", "Ракета влучила в склад.", "", True, FORM),
    ("ракета", "Уламки ракети знайшли в полі.", "", True, FORM),
    ("ракета", "Завдяки ракеті ППО врятувала міст.", "", True, FORM),
    ("ракета", "Збили ракету над областю.", "", True, FORM),
    ("ракета", "Удар завдали ракетою.", "", True, FORM),
    ("ракета", "На ракеті були написи.", "", True, FORM),
    ("ракета", "Ракети летіли з півночі.", "", True, FORM),
    ("ракета", "Вночі було запущено кілька ракет.", "", True, FORM),
    ("ракета", "Збиття ракетам не завадили хмари.", "", True, FORM),
    ("ракета", "Атакували ракетами та дронами.", "", True, FORM),
    ("ракета", "Про удари ракетах писали всі.", "", True, FORM),
    ("санкції", "Нові санкції набули чинності.", "", True, FORM),
    ("санкція", "Пакет санкцій погодили в Брюсселі.", "", True, FORM),
    ("санкція", "Завдяки санкціям експорт упав.", "", True, FORM),
    ("санкція", "Рада проголосувала за санкцію проти компанії.", "", True, FORM),
    ("санкція", "Обхід санкціями не врятує бюджет.", "", True, FORM),
    ("зброя", "Зброя прибула вчасно.", "", True, FORM),
    ("зброя", "Постачання зброї прискорили.", "", True, FORM),
    ("зброя", "Оплатили зброю з бюджету партнерів.", "", True, FORM),
    ("зброя", "Бригаду забезпечили зброєю.", "", True, FORM),
    ("переговори", "Переговори тривали шість годин.", "", True, FORM),
    ("переговори", "Після переговорів делегації виїхали.", "", True, FORM),
    ("переговори", "Готуємося до нового раунду переговорів.", "", True, FORM),
    ("переговори", "На переговорах обговорили енергетику.", "", True, FORM),
    ("переговори", "Задоволені переговорами в Женеві.", "", True, FORM),
    ("енергетика", "Удари по енергетиці тривають.", "", True, FORM),
    ("енергетика", "Відновлення енергетики коштуватиме мільярди.", "", True, FORM),
    ("енергетика", "Про енергетику говорили з партнерами.", "", True, FORM),
    ("посол", "Посол вручив вірчі грамоти.", "", True, FORM),
    ("посол", "Міністерство викликало посла.", "", True, FORM),
    ("посол", "Ноту передали послу вранці.", "", True, FORM),
    ("посол", "Зустріч з послом перенесли.", "", True, FORM),
    ("посол", "Посли країн G7 зібралися в Києві.", "", True, FORM),
    ("посол", "Заява послів була короткою.", "", True, FORM),
    ("місто", "Над містом лунала тривога.", "", True, FORM),
    ("місто", "Світло повернули у місті.", "", True, FORM),
    ("місто", "Мешканці міст отримали повідомлення.", "", True, FORM),
    ("Київ", "Делегація прибула до Києва.", "", True, FORM),
    ("Київ", "Переговори пройшли в Києві.", "", True, FORM),
    ("Київ", "Над Києвом збили ракету.", "", True, FORM),
    ("Харків", "Удар по Харкову зруйнував школу.", "", True, FORM),
    ("Харків", "У Харкові вимкнули світло.", "", True, FORM),
    ("Харків", "Допомога для Харкова вже в дорозі.", "", True, FORM),
    ("Туреччина", "Делегація летить до Туреччини.", "", True, FORM),
    ("Туреччина", "Зустріч пройде в Туреччині.", "", True, FORM),
    ("Туреччина", "Домовленість з Туреччиною підписали.", "", True, FORM),
    ("Туреччина", "Дякуємо Туреччині за посередництво.", "", True, FORM),
    # --- names the dictionary may not know -------------------------------------------------
    ("Умєров", "Умєров провів зустріч з делегацією.", "", True, FORM),
    ("Умєров", "Заяву Умєрова поширили вранці.", "", True, FORM),
    ("Умєров", "Журналісти поставили питання Умєрову.", "", True, FORM),
    ("Умєров", "Поговорили з Умєровим після брифінгу.", "", True, FORM),
    ("Умєров", "Делегацію очолив Умеров.", "", True, FORM),
    ("Умєров", "Передали документи Умерову.", "", True, FORM),
    ("Умєров", "Зустріч з Умеровим перенесли.", "", True, FORM),
    ("Умєров", "Подякували Умєрові за роботу.", "", True, FORM),
    ("Сибіга", "Сибіга провів телефонну розмову.", "", True, FORM),
    ("Сибіга", "Заява Сибіги з'явилася ввечері.", "", True, FORM),
    ("Сибіга", "Лист передали Сибізі особисто.", "", True, FORM),
    ("Сибіга", "Зустріч із Сибігою тривала годину.", "", True, FORM),
    ("Сибіга", "Міністра Сибігу запросили до Варшави.", "", True, FORM),
    ("Зеленський", "Зеленський підписав указ.", "", True, FORM),
    ("Зеленський", "Звернення Зеленського вийшло ввечері.", "", True, FORM),
    ("Зеленський", "Лист адресували Зеленському.", "", True, FORM),
    ("Зеленський", "Розмова із Зеленським тривала годину.", "", True, FORM),
    ("Шмигаль", "Шмигаль провів засідання уряду.", "", True, FORM),
    ("Шмигаль", "За словами Шмигаля, бюджет виконано.", "", True, FORM),
    ("Шмигаль", "Доповідь передали Шмигалю.", "", True, FORM),
    ("Шевченко", "Шевченко виступив на форумі.", "", True, FORM),
    ("Шевченко", "Слова Шевченка цитували всі.", "", True, FORM),
    ("Шевченко", "Подякували Шевченкові за роботу.", "", True, FORM),
    ("Лавров", "Лавров заявил о переговорах.", "", True, FORM),
    ("Лавров", "Заявление Лаврова опубликовали ночью.", "", True, FORM),
    ("Лавров", "С Лавровым встретился посол.", "", True, FORM),
    ("Песков", "Песков отказался комментировать.", "", True, FORM),
    ("Песков", "По словам Пескова, встречи не будет.", "", True, FORM),
    ("Івано-Франківськ", "Вибухи в Івано-Франківську чули вночі.", "", True, FORM),
    ("Івано-Франківськ", "Автобус до Івано-Франківська вирушив.", "", True, FORM),
    ("Івано-Франківськ", "Івано-Франківськ прийняв переселенців.", "", True, FORM),
    # --- Russian --------------------------------------------------------------------------
    ("обмен пленными", "Состоялся обмен пленными.", "", True, FORM),
    ("обмен пленными", "После обмена пленных отправили в госпиталь.", "", True, FORM),
    ("пленный", "Пленные вернулись домой.", "", True, FORM),
    ("пленный", "Списки пленных передали посредникам.", "", True, FORM),
    ("пленный", "Помощь пленным доставили вчера.", "", True, FORM),
    ("переговоры", "Переговоры продолжатся завтра.", "", True, FORM),
    ("переговоры", "После переговоров стороны молчат.", "", True, FORM),
    ("переговоры", "Он рассказал о переговорах.", "", True, FORM),
    ("переговоры", "Довольны переговорами, сказал министр.", "", True, FORM),
    ("ракета", "Ракета упала в поле.", "", True, FORM),
    ("ракета", "Обломки ракеты нашли у дороги.", "", True, FORM),
    ("ракета", "Сбили ракету над рекой.", "", True, FORM),
    ("ракета", "Удар нанесли ракетой.", "", True, FORM),
    ("ракета", "Выпустили несколько ракет.", "", True, FORM),
    ("санкции", "Санкции вступили в силу.", "", True, FORM),
    ("санкция", "Пакет санкций согласовали.", "", True, FORM),
    ("санкция", "Благодаря санкциям доходы упали.", "", True, FORM),
    ("посол", "Посла вызвали в министерство.", "", True, FORM),
    ("посол", "Встреча с послом прошла спокойно.", "", True, FORM),
    ("город", "В городе объявили тревогу.", "", True, FORM),
    ("город", "Жители городов получили помощь.", "", True, FORM),
    ("Турция", "Делегация прилетела в Турцию.", "", True, FORM),
    ("Турция", "Переговоры пройдут в Турции.", "", True, FORM),
    ("Турция", "Соглашение с Турцией подписано.", "", True, FORM),
    # --- English -------------------------------------------------------------------------
    ("sanction", "New sanctions were announced today.", "", True, FORM),
    ("sanctions", "The sanction targets three banks.", "", True, FORM),
    ("prisoner", "Prisoners were returned home.", "", True, FORM),
    ("prisoner exchange", "The prisoner exchange took place at dawn.", "", True, FORM),
    ("drone", "Drones hit the depot overnight.", "", True, FORM),
    ("talks", "The talk in Geneva lasted six hours.", "", True, FORM),
    ("country", "Several countries joined the statement.", "", True, FORM),
    ("ambassador", "The ambassador's note was delivered.", "", True, FORM),
    ("ambassador", "Ambassadors met in Brussels.", "", True, FORM),
    ("Turkiye", "Talks in Türkiye resume on Monday.", "", True, FORM),
    ("Türkiye", "Talks in Turkiye resume on Monday.", "", True, FORM),
    ("Kalin", "Ibrahim Kalın met the delegation.", "", True, FORM),
    ("Kalın", "Ibrahim Kalin met the delegation.", "", True, FORM),
    ("Umerov", "Umerov led the delegation.", "", True, FORM),
    ("negotiate", "They negotiated until dawn.", "", True, FORM),
    ("meet", "The ministers met in Ankara.", "", True, FORM),
    ("attack", "Drones attacked the port overnight.", "", True, FORM),
    ("meeting", "Two meetings were held on Friday.", "", True, FORM),
    ("seek", "The envoy sought a ceasefire.", "", True, FORM),
    ("US", "The US envoy arrived in Kyiv.", "", True, FORM),
    ("NATO", "NATO allies met on Tuesday.", "", True, FORM),
    # --- invisible characters (Unicode Cf) inside a word -----------------------------------
    ("Умєров", "Міністр Умє\u00adров прибув до Анкари.", "", True, FORM),
    ("Умєров", "Заяву зробив Умє\u200bрова речник.", "", True, FORM),
    ("обмін", "Відбувся об\u2060мін полоненими.", "", True, FORM),
    ("Umerov", "Ume\ufeffrov led the delegation.", "", True, FORM),
    # --- normalisation: apostrophes, look-alikes, case -----------------------------------
    ("пам'ять", "Вшанували пам’ять загиблих.", "", True, FORM),
    ("пам'ять", "Хвилина памʼяті о дев'ятій.", "", True, FORM),
    ("пам’ять", "День пам'яті оголосили в області.", "", True, FORM),
    ("м'ясо", "Ціни на мʼясо зросли.", "", True, FORM),
    ("об'єкт", "Пошкоджено об`єкт інфраструктури.", "", True, FORM),
    ("об'єкт", "Уражено кілька обʼєктів енергетики.", "", True, FORM),
    ("Зеленський", "Зeлeнський підписав закон.", "", True, FORM),  # Latin e
    ("ракета", "Збили PAKETУ над містом.", "", True, FORM),  # Latin P, A, K, E, T
    ("Київ", "Делегація прибула до Kиєва.", "", True, FORM),  # Latin K
    ("полонений", "ПОЛОНЕНИХ ПОВЕРНУЛИ ДОДОМУ.", "", True, FORM),
    ("посол", "Посла́ викликали повторно.", "", True, FORM),  # a stress mark
    # --- phrases --------------------------------------------------------------------------
    ('"гуманітарний трек"', "Обговорили гуманітарний трек і безпеку.", "", True, FORM),
    ('"гуманітарний трек"', "Прогрес у гуманітарному треку є.", "", True, FORM),
    ('"гуманітарний трек"', "Щодо гуманітарного треку домовленостей немає.", "", True, FORM),
    ('"гуманітарний трек" OR "humanitarian track"', "On the humanitarian track.", "", True, FORM),
    ('"humanitarian track"', "Both humanitarian tracks stalled.", "", True, FORM),
    ('"гуманітарний трек"', "Трек гуманітарний обговорили.", "", False, EXACT),  # order
    ('"гуманітарний трек"', "Гуманітарний конвой вийшов на трек.", "", False, EXACT),  # apart
    ('"обмін полоненими"', "Обмін полоненими відбувся.", "", True, EXACT),
    ('"гуманітарний трек"', "Вантаж гуманітарний. Трек відомий.", "", False, EXACT),
    ('"гуманітарний трек"', "Гуманітарний, трек і безпека.", "", True, EXACT),
    ('"обмін полоненими"', "Обмін списками полонених відбувся.", "", False, EXACT),
    # --- negation -------------------------------------------------------------------------
    ("Умєров -Туреччина", "Умєров прибув до Туреччини.", "", False, EXACT),
    ("Умєров -Туреччина", "Умєров прибув до Катару.", "", True, EXACT),
    ("Умєров NOT Туреччина", "Умерова зустріли в Туреччині.", "", False, EXACT),
    ("Умєров NOT Туреччина", "Умерова зустріли в Досі.", "", True, EXACT),
    ("ракета -навчання", "Ракету запустили під час навчань.", "", False, EXACT),
    ("ракета -навчання", "Ракету запустили по місту.", "", True, EXACT),
    ("(обмін OR переговори) -Росія", "Переговори з Росією зірвалися.", "", False, EXACT),
    ("(обмін OR переговори) -Росія", "Переговори з партнерами пройшли.", "", True, EXACT),
    ("sanctions -Iran", "New sanctions against Iran.", "", False, EXACT),
    ("sanctions -Iran", "New sanctions against the shadow fleet.", "", True, EXACT),
    # --- OR, AND, grouping ----------------------------------------------------------------
    ("ракета OR дрон", "Вночі летіли дрони.", "", True, EXACT),
    ("ракета OR дрон", "Вночі було тихо.", "", False, EXACT),
    ("ракета AND дрон", "Ракети і дрони атакували місто.", "", True, EXACT),
    ("ракета AND дрон", "Ракети атакували місто.", "", False, EXACT),
    ("(Умєров OR Сибіга) переговори", "Сибіга розповів про переговори.", "", True, EXACT),
    ("(Умєров OR Сибіга) переговори", "Сибіга розповів про зустріч.", "", False, EXACT),
    ("обмін АБО переговори", "Обміну не буде.", "", True, EXACT),
    # --- exact forms and prefixes ---------------------------------------------------------
    ("=полонених", "Списки полонених передали.", "", True, EXACT),
    ("=полонених", "Полонені повернулися.", "", False, EXACT),
    ("мобіліз*", "Мобілізація триває.", "", True, EXACT),
    ("мобіліз*", "Закон про мобілізованих ухвалили.", "", True, EXACT),
    ("мобіліз*", "Мобільний зв'язок відновили.", "", False, EXACT),
    ("/F-1[56]/", "Партнери передали F-16.", "", True, EXACT),
    ("/F-1[56]/", "Партнери передали F-35.", "", False, EXACT),
    # --- per-source rules -----------------------------------------------------------------
    ("from:@umerov_rustem обмін", "Обмін відбувся.", "umerov_rustem", True, EXACT),
    ("from:@umerov_rustem обмін", "Обмін відбувся.", "other_channel", False, EXACT),
    ("from:@umerov_rustem", "Будь-який допис.", "umerov_rustem", True, EXACT),
    ("from:https://t.me/umerov_rustem", "Будь-який допис.", "Umerov_Rustem", True, EXACT),
    ("обмін -from:@rumours_feed", "Обмін відбувся.", "rumours_feed", False, EXACT),
    ("обмін -from:@rumours_feed", "Обмін відбувся.", "mfa_channel", True, EXACT),
    ("(from:@a_chan OR from:@b_chan) ракета", "Ракета впала.", "b_chan", True, EXACT),
    ("(from:@a_chan OR from:@b_chan) ракета", "Ракета впала.", "c_chan", False, EXACT),
    # --- near-misses: share letters, not the word -----------------------------------------
    ("посол", "Треба посолити суп.", "", False, NEAR),
    ("посол", "Огірки посолили на зиму.", "", False, NEAR),
    ("посол", "Посольство працює у звичайному режимі.", "", False, NEAR),
    ("банк", "Банка варення стояла на столі.", "", False, NEAR),
    ("банк", "Банка з фарбою впала на підлогу.", "", False, NEAR),
    ("банк", "Банкою з медом пригостили сусідів.", "", False, NEAR),
    ("банк", "Банкет скасували.", "", False, NEAR),
    ("Умєров", "Він помер уночі.", "", False, NEAR),
    ("Умєров", "Умер после долгой болезни.", "", False, NEAR),
    ("Умєров", "Вчинок був умовним.", "", False, NEAR),
    ("рада", "Він дуже радий зустрічі.", "", False, NEAR),
    ("рада", "Дитина радіє снігу.", "", False, NEAR),
    ("мир", "Світ побачив мирних жителів на фото.", "", False, NEAR),
    ("мир", "Мирон написав листа.", "", False, NEAR),
    ("ракета", "Ракетка для тенісу зламалася.", "", False, NEAR),
    ("обмін", "Обмінник не працював.", "", False, NEAR),
    ("Сибіга", "Сибір накрили морози.", "", False, NEAR),
    ("Київ", "Кияни вийшли на суботник.", "", False, NEAR),
    ("Харків", "Харчі привезли вчасно.", "", False, NEAR),
    ("war", "The warning was lifted.", "", False, NEAR),
    ("war", "Everyone was aware of it.", "", False, NEAR),
    ("talks", "Walk and talkative people.", "", False, NEAR),
    ("sanction", "Sanctity and a sanctuary are other words.", "", False, NEAR),
    ("Iran", "Iranian officials spoke.", "", False, NEAR),
    ("US", "Nobody told us about it.", "", False, NEAR),
    ("Hamas", "Fighting near Hama went on.", "", False, NEAR),
    ("Hama", "A statement by Hamas was read out.", "", False, NEAR),
    ("news", "A new plan was presented.", "", False, NEAR),
    ("new", "The news came late.", "", False, NEAR),
    ("Лавров", "Лавр цвіте навесні.", "", False, NEAR),
    ("Лавров", "Лаврський монастир відкрили для відвідувачів.", "", False, NEAR),
    ("полонений", "Полонина вкрита снігом.", "", False, NEAR),
    ("зброя", "Збройний конфлікт триває.", "", False, NEAR),
]


def _matches(rule: str, text: str, channel: str) -> bool:
    return match_rule(parse_rule(rule), analyze(text), channel) is not None


def test_table_is_large_and_varied() -> None:
    assert len(CASES) >= 150
    assert sum(kind == NEAR for *_, kind in CASES) >= 20
    assert any(any(ch in "ыэё" for ch in text.lower()) for _, text, *_ in CASES)


def test_every_inflected_form_found() -> None:
    rows = [(r, t, c) for r, t, c, want, kind in CASES if kind == FORM and want]
    missed = [(r, t) for r, t, c in rows if not _matches(r, t, c)]
    print(f"inflected forms matched: {len(rows) - len(missed)}/{len(rows)}")
    assert missed == []


def test_no_near_miss_matches() -> None:
    wrong = [(r, t) for r, t, c, _, kind in CASES if kind == NEAR and _matches(r, t, c)]
    assert wrong == []


@pytest.mark.parametrize(
    ("rule", "text", "channel", "expected"),
    [(r, t, c, want) for r, t, c, want, kind in CASES if kind == EXACT],
)
def test_exact_rows(rule: str, text: str, channel: str, expected: bool) -> None:
    assert _matches(rule, text, channel) is expected


def test_matcher_with_all_rules_agrees_with_match_rule() -> None:
    """The indexed matcher and one-rule evaluation give the same answer on every row."""
    rules = sorted({r for r, *_ in CASES})
    matcher = Matcher()
    for i, rule in enumerate(rules, start=1):
        matcher.add(i, parse_rule(rule))
    for _, text, channel, *_ in CASES:
        a = analyze(text)
        got = {m.rule_id for m in matcher.match(a, channel)}
        want = {
            i
            for i, rule in enumerate(rules, start=1)
            if match_rule(parse_rule(rule), a, channel) is not None
        }
        assert got == want, text
