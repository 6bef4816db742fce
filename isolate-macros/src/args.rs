//! The attribute's options: `#[isolated(name = "...", dedicated, ...)]`.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::{Expr, Ident, LitStr, Path, Token};

mod kw {
    syn::custom_keyword!(name);
    syn::custom_keyword!(dedicated);
    syn::custom_keyword!(stack_size);
    syn::custom_keyword!(wrapper);
    syn::custom_keyword!(no_fold);
}

/// Every option, in the order the documentation lists them.
const VALID_KEYS: &str = "`name`, `dedicated`, `stack_size`, `wrapper`, `no_fold`, `crate`";

/// The parsed options; each is set at most once.
#[derive(Default)]
pub(crate) struct Options {
    /// `name = "..."`: the isolate's name.
    pub(crate) name: Option<LitStr>,
    /// `dedicated`: a thread of its own.
    pub(crate) dedicated: Option<Span>,
    /// `stack_size = <expr>`: the thread's stack size.
    pub(crate) stack_size: Option<Expr>,
    /// `wrapper = ident`: the sibling's name.
    pub(crate) wrapper: Option<Ident>,
    /// `no_fold`: keep a `Result` return type whole.
    pub(crate) no_fold: Option<Span>,
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
                let value: Expr = input.parse()?;
                Options::set(
                    &mut options.stack_size,
                    value,
                    "stack_size",
                    key.span,
                    errors,
                );
            } else if lookahead.peek(kw::wrapper) {
                let key: kw::wrapper = input.parse()?;
                input.parse::<Token![=]>()?;
                let value: Ident = input.parse()?;
                Options::set(&mut options.wrapper, value, "wrapper", key.span, errors);
            } else if lookahead.peek(kw::no_fold) {
                let key: kw::no_fold = input.parse()?;
                Options::set(&mut options.no_fold, key.span, "no_fold", key.span, errors);
            } else if lookahead.peek(Token![crate]) {
                let key: Token![crate] = input.parse()?;
                input.parse::<Token![=]>()?;
                let value: Path = input.parse()?;
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
        options.errors = std::mem::take(errors);
        Ok(options)
    }
}
