//! The attribute's options: `#[isolated(name = "...", dedicated, ...)]`.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::{Expr, Ident, LitStr, Path, Token};

mod kw {
    syn::custom_keyword!(name);
    syn::custom_keyword!(dedicated);
    syn::custom_keyword!(stack_size);
    syn::custom_keyword!(timeout);
    syn::custom_keyword!(wrapper);
    syn::custom_keyword!(no_fold);
    syn::custom_keyword!(fold);
    syn::custom_keyword!(process);
    syn::custom_keyword!(memory_limit);
    syn::custom_keyword!(cpu_limit);
}

/// Every option, in the order the documentation lists them.
const VALID_KEYS: &str =
    "`name`, `dedicated`, `stack_size`, `timeout`, `process`, `memory_limit`, `cpu_limit`, `wrapper`, `no_fold`, `fold`, `crate`";

/// The parsed options; each is set at most once.
#[derive(Default)]
pub(crate) struct Options {
    /// `name = "..."`: the isolate's name.
    pub(crate) name: Option<LitStr>,
    /// `dedicated`: a thread of its own.
    pub(crate) dedicated: Option<Span>,
    /// `stack_size = <expr>`: the thread's stack size.
    pub(crate) stack_size: Option<Expr>,
    /// `timeout = "250ms"` or `timeout = <Duration expr>`: the isolate's
    /// time limit, as a `Duration` expression.
    pub(crate) timeout: Option<Expr>,
    /// `wrapper = ident`: the sibling's name.
    pub(crate) wrapper: Option<Ident>,
    /// `no_fold`: keep a `Result` return type whole.
    pub(crate) no_fold: Option<Span>,
    /// `fold`: fold the return type whatever its name (an alias of
    /// `Result` under another name).
    pub(crate) fold: Option<Span>,
    /// `process`: run in a child process.
    pub(crate) process: Option<Span>,
    /// `memory_limit = "256MiB"` or `<u64 expr>`: a process isolate's
    /// address-space limit, as a `u64` expression of bytes.
    pub(crate) memory_limit: Option<(Span, Expr)>,
    /// `cpu_limit = "2s"` or `<Duration expr>`: a process isolate's CPU time.
    pub(crate) cpu_limit: Option<(Span, Expr)>,
    /// `crate = path`: where the runtime crate is.
    pub(crate) krate: Option<Path>,
    /// Mistakes found while parsing that did not stop it (duplicates, bad
    /// values), reported with the others.
    pub(crate) errors: Vec<syn::Error>,
}

impl Options {
    fn set<T>(slot: &mut Option<T>, value: T, key: &str, span: Span, errors: &mut Vec<syn::Error>) {
        if slot.is_some() {
            errors.push(syn::Error::new(
                span,
                format!("duplicate option `{key}`: #[isolated] takes each option once"),
            ));
        } else {
            *slot = Some(value);
        }
    }
}

impl Parse for Options {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut options = Options::default();
        let errors = &mut Vec::new();
        while !input.is_empty() {
            let lookahead = input.lookahead1();
            if lookahead.peek(kw::name) {
                let key: kw::name = input.parse()?;
                input.parse::<Token![=]>()?;
                let value: LitStr = input.parse()?;
                if value.value().is_empty() {
                    errors.push(syn::Error::new(
                        value.span(),
                        "#[isolated(name = ...)] cannot be empty: give the isolate a name to show in errors and thread names",
                    ));
                }
                Options::set(&mut options.name, value, "name", key.span, errors);
            } else if lookahead.peek(kw::dedicated) {
                let key: kw::dedicated = input.parse()?;
                flag_value(input, "dedicated", errors)?;
                Options::set(
                    &mut options.dedicated,
                    key.span,
                    "dedicated",
                    key.span,
                    errors,
                );
            } else if lookahead.peek(kw::stack_size) {
                let key: kw::stack_size = input.parse()?;
                input.parse::<Token![=]>()?;
                let value = size_value(input, "stack_size", "usize", errors)?;
                Options::set(
                    &mut options.stack_size,
                    value,
                    "stack_size",
                    key.span,
                    errors,
                );
            } else if lookahead.peek(kw::timeout) {
                let key: kw::timeout = input.parse()?;
                input.parse::<Token![=]>()?;
                let value = duration_value(input, "timeout", errors)?;
                Options::set(&mut options.timeout, value, "timeout", key.span, errors);
            } else if lookahead.peek(kw::process) {
                let key: kw::process = input.parse()?;
                flag_value(input, "process", errors)?;
                Options::set(&mut options.process, key.span, "process", key.span, errors);
            } else if lookahead.peek(kw::cpu_limit) {
                let key: kw::cpu_limit = input.parse()?;
                input.parse::<Token![=]>()?;
                let value = duration_value(input, "cpu_limit", errors)?;
                Options::set(
                    &mut options.cpu_limit,
                    (key.span, value),
                    "cpu_limit",
                    key.span,
                    errors,
                );
            } else if lookahead.peek(kw::memory_limit) {
                let key: kw::memory_limit = input.parse()?;
                input.parse::<Token![=]>()?;
                let value = size_value(input, "memory_limit", "u64", errors)?;
                Options::set(
                    &mut options.memory_limit,
                    (key.span, value),
                    "memory_limit",
                    key.span,
                    errors,
                );
            } else if lookahead.peek(kw::wrapper) {
                let key: kw::wrapper = input.parse()?;
                input.parse::<Token![=]>()?;
                let value: Ident = if input.peek(LitStr) {
                    // `wrapper = "run_it"`: said once, and the name still
                    // used, so that its callers add no errors of their own.
                    let literal: LitStr = input.parse()?;
                    let name = literal.parse::<Ident>();
                    errors.push(syn::Error::new(
                        literal.span(),
                        match &name {
                            Ok(name) => format!(
                                "#[isolated(wrapper = ...)] takes a name, not a string: write `wrapper = {name}`"
                            ),
                            Err(_) => "#[isolated(wrapper = ...)] takes the sibling's name, an identifier such as `wrapper = resize_on_isolate`".to_owned(),
                        },
                    ));
                    name.unwrap_or_else(|_| Ident::new("__isolate_wrapper", literal.span()))
                } else {
                    input.parse().map_err(|error| {
                        syn::Error::new(
                            error.span(),
                            "#[isolated(wrapper = ...)] takes the sibling's name, an identifier such as `wrapper = resize_on_isolate`",
                        )
                    })?
                };
                if input.peek(Token![::]) {
                    return Err(syn::Error::new(
                        input.span(),
                        "#[isolated(wrapper = ...)] takes the sibling's name, not a path: the sibling is defined beside the function",
                    ));
                }
                Options::set(&mut options.wrapper, value, "wrapper", key.span, errors);
            } else if lookahead.peek(kw::no_fold) {
                let key: kw::no_fold = input.parse()?;
                flag_value(input, "no_fold", errors)?;
                Options::set(&mut options.no_fold, key.span, "no_fold", key.span, errors);
            } else if lookahead.peek(kw::fold) {
                let key: kw::fold = input.parse()?;
                flag_value(input, "fold", errors)?;
                Options::set(&mut options.fold, key.span, "fold", key.span, errors);
            } else if lookahead.peek(Token![crate]) {
                let key: Token![crate] = input.parse()?;
                input.parse::<Token![=]>()?;
                // `crate = "renamed"` as tokio's and serde's attributes
                // take it, or the path itself.
                let expected = |span| {
                    syn::Error::new(
                        span,
                        "#[isolated(crate = ...)] takes the path of the renamed `isolates` dependency, such as `crate = iso` or `crate = \"iso\"`",
                    )
                };
                let value: Path = if input.peek(LitStr) {
                    let literal: LitStr = input.parse()?;
                    literal.parse().map_err(|_| expected(literal.span()))?
                } else {
                    input.parse().map_err(|error| expected(error.span()))?
                };
                Options::set(&mut options.krate, value, "crate", key.span, errors);
            } else if input.peek(Ident) {
                let unknown: Ident = input.parse()?;
                return Err(syn::Error::new(
                    unknown.span(),
                    format!(
                        "unknown option `{unknown}` for #[isolated]: the options are {VALID_KEYS}"
                    ),
                ));
            } else {
                return Err(lookahead.error());
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        if let (Some(fold), Some(_)) = (options.fold, options.no_fold) {
            errors.push(syn::Error::new(
                fold,
                "#[isolated] takes `fold` or `no_fold`, not both: `fold` folds any `Result` alias into the handle's error, `no_fold` returns the value whole",
            ));
        }
        options.errors = std::mem::take(errors);
        Ok(options)
    }
}

/// After a flag (`dedicated`): an `= value` is a mistake, said once and
/// skipped, so that the options after it are still read.
fn flag_value(input: ParseStream<'_>, key: &str, errors: &mut Vec<syn::Error>) -> syn::Result<()> {
    if input.peek(Token![=]) {
        let eq: Token![=] = input.parse()?;
        let value: Expr = input.parse()?;
        errors.push(syn::Error::new_spanned(
            quote::quote!(#eq #value),
            format!("#[isolated({key})] is a flag and takes no value: write `{key}` alone, and leave it out to turn it off"),
        ));
    }
    Ok(())
}

/// A size in bytes: a literal such as `"512MiB"`, or any expression (of
/// type `ty`).
fn size_value(
    input: ParseStream<'_>,
    key: &str,
    ty: &str,
    errors: &mut Vec<syn::Error>,
) -> syn::Result<Expr> {
    if !input.peek(LitStr) {
        return input.parse();
    }
    let literal: LitStr = input.parse()?;
    Ok(match parse_bytes(&literal.value()) {
        Some(bytes) => {
            let bytes = proc_macro2::Literal::u64_unsuffixed(bytes);
            syn::parse_quote_spanned!(literal.span()=> #bytes)
        }
        None => {
            errors.push(syn::Error::new(
                literal.span(),
                format!("#[isolated({key} = ...)] expects a size such as \"512MiB\": a whole number followed by one of B, KiB, MiB, GiB, KB, MB, GB, or an expression of type `{ty}` (bytes)"),
            ));
            syn::parse_quote_spanned!(literal.span()=> 0)
        }
    })
}

/// A `Duration` expression: a literal such as `"250ms"`, or any expression.
fn duration_value(
    input: ParseStream<'_>,
    key: &str,
    errors: &mut Vec<syn::Error>,
) -> syn::Result<Expr> {
    if !input.peek(LitStr) {
        return input.parse();
    }
    let literal: LitStr = input.parse()?;
    Ok(match parse_duration(&literal.value()) {
        Some(nanos) => syn::parse_quote_spanned!(literal.span()=>
            ::core::time::Duration::from_nanos(#nanos)
        ),
        None => {
            errors.push(syn::Error::new(
                literal.span(),
                format!("#[isolated({key} = ...)] expects a duration such as \"250ms\" or \"2s\": a whole number followed by one of ns, us, ms, s, m, h, or an expression of type `Duration`"),
            ));
            syn::parse_quote_spanned!(literal.span()=> ::core::time::Duration::ZERO)
        }
    })
}

/// Reads `"512MiB"` as bytes: a whole number and a unit (`B`, `KiB`,
/// `MiB`, `GiB`, `KB`, `MB`, `GB`); `None` otherwise.
fn parse_bytes(text: &str) -> Option<u64> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let number: u64 = number.parse().ok()?;
    let per_unit: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        _ => return None,
    };
    number.checked_mul(per_unit)
}

/// Reads `"250ms"` as nanoseconds: a whole number and a unit (`ns`, `us`,
/// `ms`, `s`, `m`, `h`), at most `u64::MAX` nanoseconds; `None` otherwise.
fn parse_duration(text: &str) -> Option<u64> {
    let text = text.trim();
    let digits = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(digits);
    let number: u64 = number.parse().ok()?;
    let nanos_per_unit: u64 = match unit.trim() {
        "ns" => 1,
        "us" | "\u{b5}s" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    };
    number.checked_mul(nanos_per_unit)
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations_read_as_nanoseconds() {
        assert_eq!(parse_duration("250ms"), Some(250_000_000));
        assert_eq!(parse_duration("2 s"), Some(2_000_000_000));
        assert_eq!(parse_duration("1h"), Some(3_600_000_000_000));
        assert_eq!(parse_duration("7us"), Some(7_000));
        for bad in ["", "ms", "250", "1.5s", "-1s", "10 parsecs", "99999999999h"] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn sizes_read_as_bytes() {
        use super::parse_bytes;
        assert_eq!(parse_bytes("512MiB"), Some(512 << 20));
        assert_eq!(parse_bytes("1 GB"), Some(1_000_000_000));
        assert_eq!(parse_bytes("64"), Some(64));
        for bad in ["", "MiB", "1.5GiB", "-1B", "3 bushels", "99999999999999GiB"] {
            assert_eq!(parse_bytes(bad), None, "{bad:?}");
        }
    }
}
