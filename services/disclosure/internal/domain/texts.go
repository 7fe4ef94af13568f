package domain

import (
	"strconv"
	"strings"

	"github.com/lillvet/register/services/platform/retention"
)

// Language is a language the access report is written in.
type Language string

// The report languages: Finnish by default, Swedish (Finland's other official language)
// and English.
const (
	LanguageFinnish Language = "fi"
	LanguageSwedish Language = "sv"
	LanguageEnglish Language = "en"
)

// Languages returns the report languages, the default first.
func Languages() []Language { return []Language{LanguageFinnish, LanguageSwedish, LanguageEnglish} }

// ParseLanguage returns the report language of a tag: empty means Finnish, case does not
// matter and a region is ignored ("sv-FI" is Swedish). ok is false for any other
// language, with Finnish returned.
func ParseLanguage(s string) (lang Language, ok bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return LanguageFinnish, true
	}
	if i := strings.IndexAny(s, "-_"); i > 0 {
		s = s[:i]
	}
	switch l := Language(s); l {
	case LanguageFinnish, LanguageSwedish, LanguageEnglish:
		return l, true
	default:
		return LanguageFinnish, false
	}
}

// TextKeys returns every key each language must have: the static ones, then those of
// the kinds, categories, record classes and bases (kind.insurer, category.microchip,
// retention.invoices, basis.consent, …).
func TextKeys() []string {
	keys := []string{
		"report.title", "report.intro",
		"controller.title", "controller.body",
		"purposes.title", "purpose.care", "purpose.contact", "purpose.billing", "purpose.communication",
		"purpose.service_development",
		"source.title", "source.body",
		"recipients.title", "recipients.body",
		"retention.title", "retention.other", "retention.disclosure_log", "retention.access_log",
		"retention.marketing_suppression",
		"rights.title", "right.access", "right.rectify", "right.erase", "right.restrict", "right.object",
		"right.portability", "right.complain", "rights.contact",
	}
	for _, k := range Kinds() {
		keys = append(keys, KindTextKey(k))
	}
	for _, c := range Categories() {
		keys = append(keys, CategoryTextKey(c))
	}
	for _, c := range retention.RecordClasses() {
		keys = append(keys, RetentionTextKey(c))
	}
	for _, b := range []Basis{BasisConsent, BasisInsurerAgreement, BasisProcessorContract, BasisRightOfAccess} {
		keys = append(keys, string(b))
	}
	return append(keys, retention.BasisVeterinaryRecords, retention.BasisMedicineRecords, retention.BasisBookkeeping, retention.BasisUnpaidInvoice,
		BasisMarketingObjection)
}

// KindTextKey is the key of a recipient kind's name.
func KindTextKey(k Kind) string { return "kind." + string(k) }

// CategoryTextKey is the key of a data category's name.
func CategoryTextKey(c Category) string { return "category." + string(c) }

// RetentionTextKey is the key of a record class's retention rule, whose text holds
// {years} where the class has a period.
func RetentionTextKey(c retention.RecordClass) string { return "retention." + string(c) }

// StatedRetention is every period the access report states.
type StatedRetention struct {
	// Records are the periods of the patient, medicine and invoice records.
	Records retention.Policy
	// LogYears is how long the disclosure log and the customer's requests are kept
	// (DISCLOSURE_RECORDS_RETENTION_YEARS).
	LogYears int
	// AuditYears is how long the record of who accessed the data is kept
	// (AUDIT_RETENTION_YEARS).
	AuditYears int
}

// RetentionTexts returns the retention rules from one language's texts with the
// configured periods filled in: the record classes in the order of
// retention.RecordClasses, then the disclosure log, the access log and the marketing
// suppression.
func RetentionTexts(texts map[string]string, r StatedRetention) []string {
	years := map[string]int{
		RetentionTextKey(retention.ClassPatientRecords):  r.Records.PatientRecordsYears,
		RetentionTextKey(retention.ClassMedicineRecords): r.Records.MedicineRecordsYears,
		RetentionTextKey(retention.ClassInvoices):        r.Records.InvoiceYears,
		"retention.disclosure_log":                       r.LogYears,
		"retention.access_log":                           r.AuditYears,
	}
	var keys []string
	for _, c := range retention.RecordClasses() {
		keys = append(keys, RetentionTextKey(c))
	}
	keys = append(keys, "retention.disclosure_log", "retention.access_log", "retention.marketing_suppression")
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, strings.ReplaceAll(texts[k], "{years}", strconv.Itoa(years[k])))
	}
	return out
}

// Texts returns the report's static texts in lang (Finnish for an unknown language),
// keyed by TextKeys. Each call builds a fresh map the caller may keep.
func Texts(lang Language) map[string]string {
	switch lang {
	case LanguageSwedish:
		return swedishTexts()
	case LanguageEnglish:
		return englishTexts()
	default:
		return finnishTexts()
	}
}

func finnishTexts() map[string]string {
	return map[string]string{
		"report.title":                    "Tietosi Lillvet Oy:n asiakasrekisterissä",
		"report.intro":                    "Tämä raportti sisältää kaikki sinusta ja lemmikeistäsi Lillvet Oy:n asiakasrekisteriin tallennetut tiedot (EU:n yleinen tietosuoja-asetus, 15 artikla).",
		"controller.title":                "Rekisterinpitäjä",
		"controller.body":                 "Lillvet Oy (Y-tunnus 2923530-5), Ruukintie 26, 60100 Seinäjoki ja Kuohunharjuntie 31, 36200 Kangasala. Yhteyshenkilö: klinikkamanageri.",
		"purposes.title":                  "Tietojen käyttötarkoitukset",
		"purpose.care":                    "Lemmikkiesi hoito",
		"purpose.contact":                 "Yhteydenpito",
		"purpose.billing":                 "Laskutus",
		"purpose.communication":           "Viestintä",
		"purpose.service_development":     "Palveluiden kehittäminen",
		"source.title":                    "Tietolähteet",
		"source.body":                     "Tiedot ovat peräisin sinulta itseltäsi ennen asiakassuhteen alkua tai sen aikana sekä klinikan henkilökunnalta lemmikkiesi hoidon yhteydessä.",
		"recipients.title":                "Tietojen vastaanottajat",
		"recipients.body":                 "Tietoja ei luovuteta säännönmukaisesti eikä koskaan EU:n tai ETA:n ulkopuolelle. Niitä voidaan luovuttaa alihankkijoille, vakuutusyhtiölle sinun ja yhtiön välisen sopimuksen perusteella, Suomen Kennelliitolle tai Suomen Kissaliitolle sekä sirurekistereille löytöeläinten palveluehtojen mukaisesti. Alla ovat kaikki sinua koskevat luovutukset.",
		"retention.title":                 "Säilytysajat",
		"retention.other":                 "Muut tiedot säilytetään asiakassuhteen ajan ja poistetaan pyynnöstäsi, ellei laki edellytä niiden säilyttämistä.",
		"rights.title":                    "Oikeutesi",
		"right.access":                    "Oikeus tarkastaa tietosi ja saada niistä kopio. Vastaus on maksuton kerran vuodessa.",
		"right.rectify":                   "Oikeus vaatia virheellisten tai puutteellisten tietojen oikaisemista.",
		"right.erase":                     "Oikeus vaatia tietojesi poistamista, lukuun ottamatta tietoja, joiden säilyttämistä laki edellyttää.",
		"right.restrict":                  "Oikeus vaatia tietojesi käsittelyn rajoittamista.",
		"right.object":                    "Oikeus kieltää tietojesi käyttö suoramarkkinointiin ja tilastotutkimukseen milloin tahansa.",
		"right.portability":               "Oikeus saada antamasi tiedot koneluettavassa muodossa ja siirtää ne toiselle rekisterinpitäjälle.",
		"right.complain":                  "Oikeus tehdä valitus valvontaviranomaiselle: Tietosuojavaltuutetun toimisto, PL 800, 00531 Helsinki, tietosuoja.fi.",
		"rights.contact":                  "Voit esittää pyyntösi klinikalla, kirjeellä tai sähköpostilla klinikkamanagerille.",
		"kind.subcontractor":              "Alihankkija",
		"kind.insurer":                    "Vakuutusyhtiö",
		"kind.kennel_club":                "Suomen Kennelliitto",
		"kind.cat_federation":             "Suomen Kissaliitto",
		"kind.microchip_registry":         "Sirurekisteri",
		"kind.data_subject":               "Sinä itse",
		"category.owner_name":             "Nimi",
		"category.owner_contact":          "Puhelinnumero ja sähköpostiosoite",
		"category.owner_address":          "Postiosoite",
		"category.identity_code":          "Henkilötunnus",
		"category.patient_basics":         "Lemmikin perustiedot ja asiakasnumero",
		"category.microchip":              "Mikrosirun tunnus",
		"category.visit_history":          "Hoito- ja käyntihistoria",
		"category.medications":            "Lääkitykset",
		"category.invoices":               "Laskut",
		"category.communications":         "Yhteydenpito klinikan kanssa",
		"category.consents":               "Suostumukset ja kiellot",
		"category.disclosures":            "Tietojen luovutukset",
		"category.access_log":             "Kuka klinikalla on käsitellyt tietojasi",
		"retention.patient_records":       "Potilaskertomukset säilytetään vähintään {years} vuotta eläintä koskevasta viimeisestä merkinnästä.",
		"retention.medicine_records":      "Lääkitystiedot säilytetään {years} vuotta merkinnästä.",
		"retention.invoices":              "Laskut säilytetään {years} vuotta laskutusvuoden päättymisestä.",
		"retention.identity_code":         "Henkilötunnus poistetaan, kun mikään maksamaton lasku ei sitä enää edellytä.",
		"retention.disclosure_log":        "Tiedot luovutuksista ja pyynnöistäsi (tietopyynnöt, poistopyynnöt) säilytetään {years} vuotta luovutuksesta tai pyynnöstä.",
		"retention.access_log":            "Tiedot siitä, kuka klinikalla on käsitellyt tietojasi, säilytetään {years} vuotta.",
		"retention.marketing_suppression": "Jos olet kieltänyt suoramarkkinoinnin, kielto säilytetään ilman muita tietojasi myös tietojesi poistamisen jälkeen, jotta sinulle ei enää markkinoida.",
		"basis.consent":                   "Suostumuksesi (tietosuoja-asetuksen 6 artiklan 1 kohdan a alakohta)",
		"basis.insurer_agreement":         "Sinun ja vakuutusyhtiön välinen sopimus",
		"basis.processor_contract":        "Alihankkija käsittelee tietoja Lillvet Oy:n lukuun tietojenkäsittelysopimuksen perusteella (28 artikla)",
		"basis.right_of_access":           "Oikeutesi saada pääsy tietoihisi (15 artikla)",
		"basis.veterinary_records":        "Eläinlääkärin potilaskirjanpidon säilytysvelvollisuus (MMMa 6/EEO/2000, 7 §)",
		"basis.medicine_records":          "Eläinten lääkitsemistä koskeva kirjanpitovelvollisuus",
		"basis.bookkeeping":               "Kirjanpitolaki (1336/1997), 2 luku 10 §",
		"basis.unpaid_invoice":            "Maksamattoman laskun periminen",
		"basis.marketing_objection":       "Suoramarkkinointikieltoasi on noudatettava myös tietojesi poistamisen jälkeen (tietosuoja-asetuksen 21 artiklan 3 kohta)",
	}
}

func swedishTexts() map[string]string {
	return map[string]string{
		"report.title":                    "Dina uppgifter i Lillvet Oy:s kundregister",
		"report.intro":                    "Denna rapport innehåller alla uppgifter om dig och dina husdjur som finns i Lillvet Oy:s kundregister (EU:s allmänna dataskyddsförordning, artikel 15).",
		"controller.title":                "Personuppgiftsansvarig",
		"controller.body":                 "Lillvet Oy (FO-nummer 2923530-5), Ruukintie 26, 60100 Seinäjoki och Kuohunharjuntie 31, 36200 Kangasala. Kontaktperson: klinikchefen.",
		"purposes.title":                  "Ändamål med behandlingen",
		"purpose.care":                    "Vård av dina husdjur",
		"purpose.contact":                 "Kontakt med dig",
		"purpose.billing":                 "Fakturering",
		"purpose.communication":           "Kommunikation",
		"purpose.service_development":     "Utveckling av tjänsterna",
		"source.title":                    "Uppgifternas källa",
		"source.body":                     "Uppgifterna kommer från dig själv före eller under kundförhållandet och från klinikens personal i samband med vården av dina husdjur.",
		"recipients.title":                "Mottagare av uppgifterna",
		"recipients.body":                 "Uppgifterna lämnas inte ut regelmässigt och aldrig utanför EU eller EES. De kan lämnas ut till underleverantörer, till ett försäkringsbolag enligt avtalet mellan dig och bolaget, till Finska Kennelklubben eller Finlands Kattförbund samt till mikrochipregister enligt villkoren för hittedjur. Nedan listas alla utlämnanden som gäller dig.",
		"retention.title":                 "Lagringstider",
		"retention.other":                 "Övriga uppgifter sparas under kundförhållandet och raderas på din begäran, om inte lagen kräver att de sparas.",
		"rights.title":                    "Dina rättigheter",
		"right.access":                    "Rätt att få tillgång till dina uppgifter och en kopia av dem. Svaret är avgiftsfritt en gång per år.",
		"right.rectify":                   "Rätt att få felaktiga eller ofullständiga uppgifter rättade.",
		"right.erase":                     "Rätt att få dina uppgifter raderade, utom de uppgifter som enligt lag måste sparas.",
		"right.restrict":                  "Rätt att begära begränsning av behandlingen av dina uppgifter.",
		"right.object":                    "Rätt att när som helst förbjuda användningen av dina uppgifter för direktmarknadsföring och statistiska undersökningar.",
		"right.portability":               "Rätt att få de uppgifter du lämnat i maskinläsbar form och överföra dem till en annan personuppgiftsansvarig.",
		"right.complain":                  "Rätt att lämna in klagomål till tillsynsmyndigheten: Dataombudsmannens byrå, PB 800, 00531 Helsingfors, tietosuoja.fi.",
		"rights.contact":                  "Du kan framföra dina begäranden på kliniken, per brev eller per e-post till klinikchefen.",
		"kind.subcontractor":              "Underleverantör",
		"kind.insurer":                    "Försäkringsbolag",
		"kind.kennel_club":                "Finska Kennelklubben",
		"kind.cat_federation":             "Finlands Kattförbund",
		"kind.microchip_registry":         "Mikrochipregister",
		"kind.data_subject":               "Du själv",
		"category.owner_name":             "Namn",
		"category.owner_contact":          "Telefonnummer och e-postadress",
		"category.owner_address":          "Postadress",
		"category.identity_code":          "Personbeteckning",
		"category.patient_basics":         "Husdjurets grunduppgifter och kundnummer",
		"category.microchip":              "Mikrochipnummer",
		"category.visit_history":          "Vård- och besökshistorik",
		"category.medications":            "Medicinering",
		"category.invoices":               "Fakturor",
		"category.communications":         "Kontakter med kliniken",
		"category.consents":               "Samtycken och förbud",
		"category.disclosures":            "Utlämnanden av uppgifter",
		"category.access_log":             "Vem vid kliniken som har behandlat dina uppgifter",
		"retention.patient_records":       "Patientjournaler sparas minst {years} år efter den senaste anteckningen om djuret.",
		"retention.medicine_records":      "Läkemedelsuppgifter sparas {years} år efter anteckningen.",
		"retention.invoices":              "Fakturor sparas {years} år från utgången av faktureringsåret.",
		"retention.identity_code":         "Personbeteckningen raderas när ingen obetald faktura längre kräver den.",
		"retention.disclosure_log":        "Uppgifter om utlämnanden och dina begäranden (om registerutdrag och radering) sparas {years} år efter utlämnandet eller begäran.",
		"retention.access_log":            "Uppgifter om vem på kliniken som har behandlat dina uppgifter sparas i {years} år.",
		"retention.marketing_suppression": "Om du har förbjudit direktmarknadsföring sparas förbudet utan dina övriga uppgifter även efter att dina uppgifter har raderats, så att du inte längre får marknadsföring.",
		"basis.consent":                   "Ditt samtycke (artikel 6.1 a i dataskyddsförordningen)",
		"basis.insurer_agreement":         "Avtalet mellan dig och försäkringsbolaget",
		"basis.processor_contract":        "Underleverantören behandlar uppgifterna för Lillvet Oy:s räkning enligt ett personuppgiftsbiträdesavtal (artikel 28)",
		"basis.right_of_access":           "Din rätt till tillgång till dina uppgifter (artikel 15)",
		"basis.veterinary_records":        "Skyldigheten att bevara veterinärens patientjournaler (JSMf 6/EEO/2000, 7 §)",
		"basis.medicine_records":          "Skyldigheten att bokföra medicineringen av djur",
		"basis.bookkeeping":               "Bokföringslagen (1336/1997), 2 kap. 10 §",
		"basis.unpaid_invoice":            "Indrivning av en obetald faktura",
		"basis.marketing_objection":       "Ditt förbud mot direktmarknadsföring ska respekteras även efter att dina uppgifter har raderats (artikel 21.3 i dataskyddsförordningen)",
	}
}

func englishTexts() map[string]string {
	return map[string]string{
		"report.title":                    "Your data in the customer register of Lillvet Oy",
		"report.intro":                    "This report contains all the data about you and your pets held in the customer register of Lillvet Oy (EU General Data Protection Regulation, Article 15).",
		"controller.title":                "Controller",
		"controller.body":                 "Lillvet Oy (business ID 2923530-5), Ruukintie 26, 60100 Seinäjoki and Kuohunharjuntie 31, 36200 Kangasala, Finland. Contact: the clinic manager.",
		"purposes.title":                  "Why we process your data",
		"purpose.care":                    "Caring for your pets",
		"purpose.contact":                 "Contacting you",
		"purpose.billing":                 "Billing",
		"purpose.communication":           "Communication",
		"purpose.service_development":     "Developing our services",
		"source.title":                    "Where the data comes from",
		"source.body":                     "The data comes from you, before or during the customer relationship, and from the clinic's staff as they care for your pets.",
		"recipients.title":                "Recipients of the data",
		"recipients.body":                 "Data is not disclosed as a rule, and never outside the EU/EEA. It may be disclosed to subcontractors, to an insurance company under your agreement with it, to the Finnish Kennel Club or the Finnish Cat Federation, and to microchip registries under the found-animal service terms. Every disclosure about you is listed below.",
		"retention.title":                 "How long the data is kept",
		"retention.other":                 "Other data is kept during the customer relationship and erased at your request, unless the law requires it to be kept.",
		"rights.title":                    "Your rights",
		"right.access":                    "The right to access your data and get a copy of it. One answer a year is free of charge.",
		"right.rectify":                   "The right to have inaccurate or incomplete data rectified.",
		"right.erase":                     "The right to have your data erased, except what the law requires to be kept.",
		"right.restrict":                  "The right to have the processing of your data restricted.",
		"right.object":                    "The right to forbid the use of your data for direct marketing and statistical research at any time.",
		"right.portability":               "The right to receive the data you provided in a machine-readable form and pass it on to another controller.",
		"right.complain":                  "The right to lodge a complaint with the supervisory authority: the Office of the Data Protection Ombudsman (Tietosuojavaltuutetun toimisto), P.O. Box 800, 00531 Helsinki, Finland, tietosuoja.fi.",
		"rights.contact":                  "You can make your requests at the clinic, by letter or by e-mail to the clinic manager.",
		"kind.subcontractor":              "Subcontractor",
		"kind.insurer":                    "Insurance company",
		"kind.kennel_club":                "Finnish Kennel Club (Kennelliitto)",
		"kind.cat_federation":             "Finnish Cat Federation (Kissaliitto)",
		"kind.microchip_registry":         "Microchip registry",
		"kind.data_subject":               "You",
		"category.owner_name":             "Name",
		"category.owner_contact":          "Phone number and e-mail address",
		"category.owner_address":          "Postal address",
		"category.identity_code":          "Personal identity code",
		"category.patient_basics":         "Pet's basic data and customer number",
		"category.microchip":              "Microchip number",
		"category.visit_history":          "Treatment and visit history",
		"category.medications":            "Medications",
		"category.invoices":               "Invoices",
		"category.communications":         "Communication with the clinic",
		"category.consents":               "Consents and prohibitions",
		"category.disclosures":            "Disclosures of your data",
		"category.access_log":             "Who at the clinic accessed your data",
		"retention.patient_records":       "Patient records are kept for at least {years} years after the last entry about the animal.",
		"retention.medicine_records":      "Medicine records are kept for {years} years after the entry.",
		"retention.invoices":              "Invoices are kept for {years} years from the end of the year they were issued in.",
		"retention.identity_code":         "The personal identity code is deleted once no unpaid invoice needs it.",
		"retention.disclosure_log":        "Records of disclosures and of your requests (for access, for erasure) are kept for {years} years after the disclosure or the request.",
		"retention.access_log":            "The record of who at the clinic handled your data is kept for {years} years.",
		"retention.marketing_suppression": "If you have objected to direct marketing, the objection is kept without your other data even after your data is erased, so that you are not marketed to again.",
		"basis.consent":                   "Your consent (GDPR Article 6(1)(a))",
		"basis.insurer_agreement":         "Your agreement with the insurance company",
		"basis.processor_contract":        "The subcontractor processes the data on behalf of Lillvet Oy under a data processing agreement (Article 28)",
		"basis.right_of_access":           "Your right of access to your data (Article 15)",
		"basis.veterinary_records":        "The duty to keep veterinary patient records (Decree 6/EEO/2000 of the Ministry of Agriculture and Forestry, section 7)",
		"basis.medicine_records":          "The duty to record the medication of animals",
		"basis.bookkeeping":               "Accounting Act (1336/1997), chapter 2, section 10",
		"basis.unpaid_invoice":            "Collecting an unpaid invoice",
		"basis.marketing_objection":       "Your objection to direct marketing must be honoured after your data is erased too (GDPR Article 21(3))",
	}
}
