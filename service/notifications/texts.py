"""The e-mails' own catalogue: every phrase in English, Russian and Kyrgyz (terms as in
web/locale/GLOSSARY.md), like the documents' (service/documents/texts.py): the service never
reads the web's catalogues. tests/service/notifications checks that every phrase has the three
languages and the same placeholders in each."""

from __future__ import annotations

LANGS = ("en", "ru", "ky")

TEXTS: dict[str, tuple[str, str, str]] = {
    # --- every e-mail -------------------------------------------------------------------------
    "greeting": ("Hello {name},", "Здравствуйте, {name}!", "Саламатсызбы, {name}!"),
    "signature": (
        "PCC Small Grants Programme",
        "Программа малых грантов КСМ",
        "КСМдин чакан гранттар программасы",
    ),
    "footer": (
        "You receive this e-mail because of your part in the programme. Choose which e-mails"
        " you get: {url}",
        "Вы получили это письмо как участник программы. Выбрать, какие письма получать: {url}",
        "Бул кат сизге программанын катышуучусу катары жөнөтүлдү. Кайсы каттарды алууну"
        " тандаңыз: {url}",
    ),
    # --- submission receipt -------------------------------------------------------------------
    "submission_receipt.subject": (
        "Proposal received: {receipt}",
        "Заявка принята: {receipt}",
        "Өтүнмө кабыл алынды: {receipt}",
    ),
    "submission_receipt.body": (
        "Your proposal “{title}” to “{window}” was submitted on {submitted_at} (Bishkek time)."
        " Its receipt number is {receipt}; please quote it when you write to us.",
        "Ваша заявка «{title}» в окно «{window}» подана {submitted_at} (время Бишкека). Номер"
        " подтверждения — {receipt}; указывайте его в переписке с нами.",
        "Сиздин «{title}» өтүнмөңүз «{window}» терезесине {submitted_at} (Бишкек убактысы)"
        " берилди. Тастыктаманын номери — {receipt}; бизге жазганда аны көрсөтүңүз.",
    ),
    # --- eligibility --------------------------------------------------------------------------
    "eligibility_result.subject": (
        "Eligibility of proposal {receipt}",
        "Соответствие критериям: заявка {receipt}",
        "Талаптарга ылайыктуулук: {receipt} өтүнмөсү",
    ),
    "eligibility_result.eligible": (
        "Your proposal “{title}” ({receipt}) is eligible. It now goes to the review panel.",
        "Ваша заявка «{title}» ({receipt}) соответствует критериям и передана экспертной"
        " комиссии на рассмотрение.",
        "Сиздин «{title}» ({receipt}) өтүнмөңүз талаптарга жооп берет жана эксперттик"
        " комиссияга кароого өткөрүлдү.",
    ),
    "eligibility_result.ineligible": (
        "Your proposal “{title}” ({receipt}) is not eligible. The reasons are on the proposal's"
        " page.",
        "Ваша заявка «{title}» ({receipt}) не соответствует критериям. Причины указаны на"
        " странице заявки.",
        "Сиздин «{title}» ({receipt}) өтүнмөңүз талаптарга жооп бербейт. Себептери өтүнмөнүн"
        " барагында көрсөтүлгөн.",
    ),
    # --- reviewers ----------------------------------------------------------------------------
    "review_assigned.subject": (
        "New proposal to review: {receipt}",
        "Новое назначение: заявка {receipt}",
        "Жаңы дайындоо: {receipt} өтүнмөсү",
    ),
    "review_assigned.body": (
        "Proposal {receipt} in “{window}” has been assigned to you for review. Please declare"
        " any conflict of interest first. Reviews are due by {deadline} (Bishkek time).",
        "Вам назначена на рассмотрение заявка {receipt} в окне «{window}». Сначала сообщите о"
        " конфликте интересов, если он есть. Срок отправки заключений — {deadline} (время"
        " Бишкека).",
        "Сизге «{window}» терезесиндеги {receipt} өтүнмөсү кароого дайындалды. Адегенде"
        " кызыкчылыктардын кагылышуусу болсо, билдириңиз. Баалоонун акыркы мөөнөтү — {deadline}"
        " (Бишкек убактысы).",
    ),
    "review_reminder.subject": (
        "Reminder: review of {receipt} due {deadline}",
        "Напоминание: заключение по заявке {receipt} до {deadline}",
        "Эскертүү: {receipt} өтүнмөсүн баалоо {deadline} чейин",
    ),
    "review_reminder.body": (
        "Your review of proposal {receipt} in “{window}” is not submitted yet. Reviews are due by"
        " {deadline} (Bishkek time).",
        "Ваше заключение по заявке {receipt} в окне «{window}» ещё не отправлено. Срок отправки"
        " заключений — {deadline} (время Бишкека).",
        "«{window}» терезесиндеги {receipt} өтүнмөсү боюнча баалооңуз азырынча тапшырыла элек."
        " Баалоонун акыркы мөөнөтү — {deadline} (Бишкек убактысы).",
    ),
    # --- decisions ----------------------------------------------------------------------------
    "decision.subject": (
        "Decision on proposal {receipt}",
        "Решение по заявке {receipt}",
        "{receipt} өтүнмөсү боюнча чечим",
    ),
    "decision.selected": (
        "Your proposal “{title}” ({receipt}) has been selected for funding. The grant agreement"
        " follows.",
        "Ваша заявка «{title}» ({receipt}) отобрана для финансирования. Грантовое соглашение"
        " будет направлено вам отдельно.",
        "Сиздин «{title}» ({receipt}) өтүнмөңүз каржылоого тандалды. Грант келишими өзүнчө"
        " жөнөтүлөт.",
    ),
    "decision.reserve": (
        "Your proposal “{title}” ({receipt}) is on the reserve list: it is funded if money"
        " becomes available.",
        "Ваша заявка «{title}» ({receipt}) включена в резервный список: она будет"
        " профинансирована, если освободятся средства.",
        "Сиздин «{title}» ({receipt}) өтүнмөңүз резервдик тизмеге киргизилди: каражат"
        " бошосо, ал каржыланат.",
    ),
    "decision.not_selected": (
        "Your proposal “{title}” ({receipt}) was not selected. The panel's feedback is on the"
        " proposal's page once published.",
        "Ваша заявка «{title}» ({receipt}) не отобрана. Отзыв комиссии появится на странице"
        " заявки после публикации.",
        "Сиздин «{title}» ({receipt}) өтүнмөңүз тандалган жок. Комиссиянын пикири"
        " жарыялангандан кийин өтүнмөнүн барагында болот.",
    ),
    # --- grants and money ---------------------------------------------------------------------
    "grant_created.subject": (
        "Grant awarded: {title}",
        "Грант присуждён: {title}",
        "Грант ыйгарылды: {title}",
    ),
    "grant_created.body": (
        "A grant of {amount} has been awarded for “{title}”, from {start} to {end}. It is paid"
        " in {tranches} tranches, each when its conditions are met.",
        "На проект «{title}» присуждён грант в размере {amount} на период с {start} по {end}."
        " Он выплачивается траншами ({tranches}), каждый — после выполнения его условий.",
        "«{title}» долбооруна {start} күнүнөн {end} күнүнө чейинки мөөнөткө {amount} өлчөмүндө"
        " грант ыйгарылды. Ал транштар менен ({tranches}) төлөнөт, ар бири анын шарттары"
        " аткарылгандан кийин.",
    ),
    "tranche_due.subject": (
        "Tranche {number} is due: {title}",
        "Транш {number} к выплате: {title}",
        "{number}-транш төлөөгө даяр: {title}",
    ),
    "tranche_due.body": (
        "The conditions of tranche {number} ({amount}) of your grant for “{title}” are met; it"
        " is now due for payment.",
        "Условия транша {number} ({amount}) по вашему гранту на проект «{title}» выполнены;"
        " транш подлежит выплате.",
        "«{title}» долбооруна берилген грантыңыздын {number}-траншынын ({amount}) шарттары"
        " аткарылды; транш төлөнүүгө тийиш.",
    ),
    "tranche_paid.subject": (
        "Tranche {number} paid: {title}",
        "Транш {number} выплачен: {title}",
        "{number}-транш төлөндү: {title}",
    ),
    "tranche_paid.body": (
        "Tranche {number} of your grant for “{title}”, {amount}, was paid on {value_date}"
        " (payment reference {reference}).",
        "Транш {number} по вашему гранту на проект «{title}» в размере {amount} выплачен"
        " {value_date} (номер платежа {reference}).",
        "«{title}» долбооруна берилген грантыңыздын {number}-траншы, {amount}, {value_date}"
        " төлөндү (төлөмдүн номери {reference}).",
    ),
    # --- reports ------------------------------------------------------------------------------
    "report_returned.subject": (
        "Report returned for changes: {title}",
        "Отчёт возвращён на доработку: {title}",
        "Отчет оңдоого кайтарылды: {title}",
    ),
    "report_returned.body": (
        "Your report on the grant for “{title}” was returned for changes. The programme"
        " officer's comment: {comment}",
        "Ваш отчёт по гранту на проект «{title}» возвращён на доработку. Комментарий"
        " специалиста программы: {comment}",
        "«{title}» долбооруна берилген грант боюнча отчетуңуз оңдоого кайтарылды. Программанын"
        " адисинин комментарийи: {comment}",
    ),
}


def text(key: str, lang: str, **params: object) -> str:
    """The phrase in `lang` (English when the language is unknown), its placeholders filled."""
    en, ru, ky = TEXTS[key]
    template = {"en": en, "ru": ru, "ky": ky}.get(lang, en)
    return template.format(**params)
